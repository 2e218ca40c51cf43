use super::*;
use proptest::prelude::*;

fn user(name: &str) -> Vars {
    Vars::mail_user(&MailUserVars {
        user: name.to_string(),
        service: "imap".to_string(),
        home: Some("/home/x".to_string()),
        uid: Some(1000),
        gid: Some(1000),
        userdb_fields: Some(vec![("quota".to_string(), "1G".to_string())]),
        ..MailUserVars::default()
    })
}

fn ok(template: &str, vars: &Vars) -> String {
    expand(template, vars).unwrap()
}

#[test]
fn basic_variables() {
    let v = user("Alice@Example.COM");
    assert_eq!(
        ok("%u %n %d %h %s %i", &v),
        "Alice@Example.COM Alice Example.COM /home/x imap 1000"
    );
    assert_eq!(
        ok("%{user}/%{username}/%{domain}/%{home}/%{gid}", &v),
        "Alice@Example.COM/Alice/Example.COM//home/x/1000"
    );
    assert_eq!(ok("%Lu %Ud %Ln", &v), "alice@example.com EXAMPLE.COM alice");
    assert_eq!(ok("100%%", &v), "100%");
    assert_eq!(ok("%1n/%2.1n/%n", &v), "A/i/Alice");
    assert_eq!(ok("%-2n %-2.n %.-2n", &v), "Al ce Ali");
    assert_eq!(ok("%05i|%3u", &v), "01000|Ali");
    assert_eq!(
        ok("%{userdb:quota} %{userdb:nope:5M} %{userdb:nope}.", &v),
        "1G 5M ."
    );
    // no domain: %d is empty
    assert_eq!(ok("[%d]", &user("bob")), "[]");
    // a lone % at the end disappears
    assert_eq!(ok("a%", &v), "a");
}

#[test]
fn hashes_match_dovecot() {
    let v = user("alice");
    // md5("alice") = 6384e2b2184bcbf58eccf10ca7a6563c
    assert_eq!(ok("%Mu", &v), "6384e2b2184bcbf58eccf10ca7a6563c");
    assert_eq!(ok("%1Mu/%2.1Mu/%u", &v), "6/8/alice");
    // %N: first 8 bytes of the MD5 as a big-endian integer, mod the width, low 32 bits
    let md5_head = 0x6384e2b2184bcbf5u64;
    assert_eq!(ok("%2.256Nu", &v), format!("{:02x}", md5_head % 256));
    assert_eq!(ok("%Nu", &v), format!("{:x}", md5_head & 0xffff_ffff));
    // %H: Dovecot's str_hash
    assert_eq!(str_hash(b"alice"), {
        let mut h: u32 = 0;
        for c in b"alice" {
            h = (h << 4) + u32::from(*c);
        }
        h
    });
    assert_eq!(
        ok("%4.100Hu", &v),
        format!("{:04x}", str_hash(b"alice") % 100)
    );
    assert_eq!(ok("%Xi", &v), "3e8");
    assert_eq!(ok("%Xu", &v), "0");
    assert_eq!(ok("%Ru", &v), "ecila");
    assert_eq!(
        ok(
            "%{domain}%D{user}",
            &Vars::mail_user(&MailUserVars {
                user: "a.b.c".into(),
                ..Default::default()
            })
        ),
        "a,dc=b,dc=c"
    );
}

#[test]
fn unknown_variables() {
    let v = user("alice");
    let e = expand("x%qy", &v).unwrap_err();
    assert_eq!(e.message, "Unknown variable '%q'");
    assert_eq!(e.expanded, "xUNSUPPORTED_VARIABLE_qy");
    let e = expand("%{nope}/%u", &v).unwrap_err();
    assert_eq!(e.message, "Unknown variable '%nope'");
    assert_eq!(e.expanded, "UNSUPPORTED_VARIABLE_nope/alice");
    // modifiers are not applied to the placeholder
    assert_eq!(
        expand("%Lq", &v).unwrap_err().expanded,
        "UNSUPPORTED_VARIABLE_q"
    );
    let e = expand("%{md5:user}", &v).unwrap_err();
    assert!(e.message.contains("not supported by cote"), "{}", e.message);
}

#[test]
fn builtins_and_env() {
    let v = Vars::new();
    assert_eq!(ok("%{pid}", &v), std::process::id().to_string());
    assert_eq!(ok("%{uid}", &v), nix::unistd::geteuid().to_string());
    assert_eq!(ok("%{env:COTE_SURELY_UNSET_VARIABLE}x", &v), "x");
    std::env::set_var("COTE_VAR_EXPAND_TEST", "val");
    assert_eq!(ok("%{env:COTE_VAR_EXPAND_TEST}", &v), "val");
    // no table: %u is unknown
    assert!(expand("%u", &v).is_err());
}

#[test]
fn if_function() {
    let v = user("alice@example.com");
    assert_eq!(ok("%{if;%d;eq;example.com;local;remote}", &v), "local");
    assert_eq!(ok("%{if;%n;ne;alice;x;y}", &v), "y");
    assert_eq!(ok("%{if;%i;>;999;big}", &v), "big");
    assert_eq!(ok("%{if;%i;<;999;small}", &v), "");
    assert_eq!(ok("%{if;%u;*;*@example.com;yes;no}", &v), "yes");
    assert_eq!(ok("%{if;%u;!*;a?ice@*;yes;no}", &v), "no");
    assert_eq!(
        expand("%{if;%n;==;1;a;b}", &v).unwrap_err().message,
        "if: alice (lhs) is not a number"
    );
    assert_eq!(
        expand("%{if;a;eq}", &v).unwrap_err().message,
        "if: requires four or five parameters, got 2"
    );
    assert_eq!(
        expand("%{if;a;xx;b;c}", &v).unwrap_err().message,
        "if: Unsupported comparator 'xx'"
    );
}

#[test]
fn uses_var_finds_keys() {
    assert!(uses_var("maildir:%h/Maildir", b'h', "home"));
    assert!(uses_var("maildir:%{home}/Maildir", b'h', "home"));
    assert!(uses_var("maildir:%2.1Lh/Maildir", b'h', "home"));
    assert!(!uses_var("maildir:~/Maildir:%%h", b'h', "home"));
    assert!(!uses_var("maildir:%{homedir}", b'h', "home"));
}

#[test]
fn has_vars_ignores_escaped_percents() {
    assert!(has_vars("/etc/%d/passwd"));
    assert!(has_vars("/etc/%{domain}"));
    assert!(has_vars("/etc/%%%Ln"));
    assert!(!has_vars("/etc/100%%/passwd"));
    assert!(!has_vars("/etc/passwd%"));
    assert!(!has_vars(""));
}

#[test]
fn wildcards() {
    assert!(wildcard_match(b"", b"**"));
    assert!(!wildcard_match(b"", b"?"));
    assert!(wildcard_match(b"abc", b"a*c"));
    assert!(wildcard_match(b"abcbc", b"*bc"));
    assert!(!wildcard_match(b"abcb", b"*bc"));
    assert!(wildcard_match(b"abc", b"???"));
}

proptest! {
    #[test]
    fn never_panics(template in "[%a-zA-Z0-9{}:;.\\-\\\\]{0,40}") {
        let v = user("alice@example.com");
        let _ = expand(&template, &v);
        let _ = uses_var(&template, b'h', "home");
        let _ = has_vars(&template);
    }

    #[test]
    fn plain_text_is_unchanged(text in "[^%]{0,40}") {
        prop_assert_eq!(expand(&text, &Vars::new()).unwrap(), text);
    }
}
