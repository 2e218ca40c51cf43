//! `coteadm auth test`, `auth lookup` and `user` against a running auth service; expected
//! outputs are doveadm 2.3.19.1's for the same users and config (captured from the oracle).

mod auth_support;

use auth_support::{TestAuth, BASIC_CONF, BASIC_USERS};
use cote::auth::admin::{run, AuthVerb};
use cote::config::Config;

fn coteadm(t: &TestAuth, args: &[&str]) -> (String, u8) {
    let config = Config::load(&t.dir.path().join("dovecot.conf")).unwrap();
    let words: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let verb = AuthVerb::parse(&words).unwrap().unwrap();
    let mut out = Vec::new();
    let code = run(&verb, &config, &mut out);
    (String::from_utf8(out).unwrap(), code)
}

#[test]
fn outputs_as_doveadm() {
    let t = TestAuth::start(BASIC_CONF, BASIC_USERS);
    let cases: &[(&[&str], &str, u8)] = &[
        (
            &["auth", "test", "alice", "secret"],
            "passdb: alice auth succeeded\nextra fields:\n  user=alice\n  \n",
            0,
        ),
        (
            &["auth", "test", "alice", "wrong"],
            "passdb: alice auth failed\nextra fields:\n  user=alice\n",
            77,
        ),
        (
            &["auth", "test", "nobody", "x"],
            "passdb: nobody auth failed\nextra fields:\n  user=nobody\n",
            77,
        ),
        (
            &["auth", "test", "-x", "rip=10.1.2.3", "bob", "pw2"],
            "passdb: bob auth succeeded\nextra fields:\n  user=bob\n  \n",
            0,
        ),
        (
            &["auth", "test", "carol", "pw3"],
            "passdb: carol auth succeeded\nextra fields:\n  user=carol\n  nologin\n  reason=Go\\\n  away\n",
            0,
        ),
        (
            &["auth", "test", "dave", "anything"],
            "passdb: dave auth succeeded\nextra fields:\n  user=dave\n",
            0,
        ),
        (
            &["auth", "test", "alice*master", "mpw"],
            "passdb: alice*master auth succeeded\nextra fields:\n  user=alice\n  original_user=master\n  auth_user=master\n",
            0,
        ),
        (
            &["auth", "lookup", "alice"],
            "passdb: alice\n  user      : alice\n            \n",
            0,
        ),
        (
            &["auth", "lookup", "nobody"],
            "passdb lookup: user nobody doesn't exist\n",
            67,
        ),
        (
            &["user", "alice"],
            "field\tvalue\nuid\t1000\ngid\t1000\nhome\t/home/alice\nmail\tmaildir:~/Maildir\n",
            0,
        ),
        (
            &["user", "nobody"],
            "field\tvalue\n\nuserdb lookup: user nobody doesn't exist\n",
            67,
        ),
        (&["user", "-f", "home", "alice"], "/home/alice\n", 0),
        (&["user", "-f", "mail", "alice"], "maildir:~/Maildir\n", 0),
        (
            &["user", "-u", "alice"],
            "userdb: alice\n  user      : alice\n  uid       : 1000\n  gid       : 1000\n  home      : /home/alice\n  mail      : maildir:~/Maildir\n",
            0,
        ),
        (&["user", "*"], "alice\nbob\ncarol\ndave\nmaster\n", 0),
    ];
    for (args, expected, code) in cases {
        let (out, got) = coteadm(&t, args);
        assert_eq!((out.as_str(), got), (*expected, *code), "coteadm {args:?}");
    }
}
