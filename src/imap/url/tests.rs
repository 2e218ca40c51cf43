use proptest::prelude::*;

use super::*;

fn base(mailbox: &str, uidvalidity: u32, uid: u32) -> ImapUrl {
    ImapUrl {
        host: Some("example.com".into()),
        userid: Some("user".into()),
        mailbox: Some(mailbox.into()),
        uidvalidity,
        uid,
        ..ImapUrl::default()
    }
}

fn relative(url: &str, base: &ImapUrl) -> ImapUrl {
    parse(url.as_bytes(), Some(base), ParseOptions::default())
        .unwrap_or_else(|e| panic!("{url}: {e}"))
}

fn absolute(url: &str) -> ImapUrl {
    parse(url.as_bytes(), None, ParseOptions::default()).unwrap_or_else(|e| panic!("{url}: {e}"))
}

fn error(url: &str, base: Option<&ImapUrl>, options: ParseOptions) -> String {
    parse(url.as_bytes(), base, options).unwrap_err()
}

#[test]
fn absolute_forms() {
    let url = absolute("imap://user;AUTH=PLAIN@localhost:1143/INBOX/Important/;UID=34534/;SECTION=1.3.TEXT/;PARTIAL=0.34254");
    assert_eq!(
        url,
        ImapUrl {
            host: Some("localhost".into()),
            port: Some(1143),
            userid: Some("user".into()),
            auth_type: Some("PLAIN".into()),
            mailbox: Some("INBOX/Important".into()),
            uid: 34534,
            section: Some("1.3.TEXT".into()),
            partial: Some(Partial {
                offset: 0,
                length: Some(34254)
            }),
            ..ImapUrl::default()
        }
    );
    let url =
        absolute("imap://hendrik@example.com/INBOX/Sent;UIDVALIDITY=534?SUBJECT%20%22Frop?%22");
    assert_eq!(url.mailbox.as_deref(), Some("INBOX/Sent"));
    assert_eq!(url.uidvalidity, 534);
    assert_eq!(url.search_program.as_deref(), Some("SUBJECT \"Frop?\""));
    assert_eq!(
        absolute("imap://localhost").host.as_deref(),
        Some("localhost")
    );
    // RFC 5092's examples.
    let url = absolute(
        "imap://psicorp.example.org/~peter/%E6%97%A5%E6%9C%AC%E8%AA%9E/%E5%8F%B0%E5%8C%97",
    );
    assert_eq!(url.mailbox.as_deref(), Some("~peter/日本語/台北"));
    let url = absolute("imap://;AUTH=*@minbari.example.org/gray%20council?SUBJECT%20shadows");
    assert_eq!(url.auth_type.as_deref(), Some("*"));
    assert_eq!(url.mailbox.as_deref(), Some("gray council"));
    assert_eq!(url.search_program.as_deref(), Some("SUBJECT shadows"));
}

/// Dovecot's relative-resolution cases (its test-imap-url.c).
#[test]
fn relative_resolution_as_dovecot() {
    let b = ImapUrl {
        host: Some("example.com".into()),
        userid: Some("user".into()),
        ..ImapUrl::default()
    };
    let url = relative("//hendrik@example.org/INBOX/Trash", &b);
    assert_eq!(
        (
            url.host.as_deref(),
            url.userid.as_deref(),
            url.mailbox.as_deref()
        ),
        (Some("example.org"), Some("hendrik"), Some("INBOX/Trash"))
    );
    let url = relative("/INBOX/Trash", &b);
    assert_eq!(
        (
            url.host.as_deref(),
            url.userid.as_deref(),
            url.mailbox.as_deref()
        ),
        (Some("example.com"), Some("user"), Some("INBOX/Trash"))
    );
    let mb = |url: &str, base: &ImapUrl| {
        let u = relative(url, base);
        (u.mailbox, u.uidvalidity, u.uid)
    };
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        mb("user@example.com", &base("INBOX/Accounts", 0, 0)),
        (s("INBOX/Accounts/user@example.com"), 0, 0)
    );
    assert_eq!(
        mb("Drafts", &base("INBOX/", 0, 0)),
        (s("INBOX/Drafts"), 0, 0)
    );
    assert_eq!(
        mb("../Drafts", &base("INBOX/Trash", 0, 0)),
        (s("INBOX/Drafts"), 0, 0)
    );
    assert_eq!(
        mb("../Junk", &base("INBOX/Trash", 23452, 0)),
        (s("INBOX/Junk"), 0, 0)
    );
    assert_eq!(
        mb("../Junk;UIDVALIDITY=23", &base("INBOX/Trash", 23452, 0)),
        (s("INBOX/Junk"), 23, 0)
    );
    assert_eq!(
        mb(
            "../../%23shared;UIDVALIDITY=23452",
            &base("INBOX/Trash", 764, 0)
        ),
        (s("#shared"), 23452, 0)
    );
    assert_eq!(
        mb(
            "../../%23news;UIDVALIDITY=546/;UID=456",
            &base("INBOX/Trash", 23452, 65)
        ),
        (s("#news"), 546, 456)
    );
    assert_eq!(
        mb("", &base("INBOX/Trash", 23452, 0)),
        (s("INBOX/Trash"), 23452, 0)
    );
    assert_eq!(
        mb("", &base("INBOX/Trash", 23452, 65)),
        (s("INBOX/Trash"), 23452, 65)
    );
    assert_eq!(
        mb(";UID=4767", &base("INBOX/Trash", 23452, 65)),
        (s("INBOX/Trash"), 23452, 4767)
    );
    assert_eq!(
        mb(";UID=4767", &base("INBOX/Trash", 23452, 0)),
        (s("INBOX/Trash"), 23452, 4767)
    );
    assert_eq!(
        mb("../;UID=4767", &base("INBOX/Trash", 23452, 65)),
        (s("INBOX"), 0, 4767)
    );
    // Dovecot keeps the base's UIDVALIDITY for a sibling reached without crossing a '/'.
    assert_eq!(
        mb("../INBOX.Sub/;UID=1", &base("INBOX", 7, 0)),
        (s("INBOX.Sub"), 7, 1)
    );

    let with_section = |section: &str, partial: Option<Partial>| ImapUrl {
        section: Some(section.into()),
        partial,
        ..base("INBOX/Drafts", 769, 43)
    };
    let sp = |url: &str, base: &ImapUrl| {
        let u = relative(url, base);
        assert_eq!(
            (u.mailbox.as_deref(), u.uidvalidity),
            (Some("INBOX/Drafts"), 769)
        );
        (u.uid, u.section, u.partial)
    };
    let kib = Some(Partial {
        offset: 1024,
        length: Some(1024),
    });
    assert_eq!(sp("", &with_section("AA/BB", kib)), (43, s("AA/BB"), kib));
    assert_eq!(
        sp(
            "../;UID=4767/;SECTION=TEXT",
            &with_section("1.2.3.MIME", None)
        ),
        (4767, s("TEXT"), None)
    );
    assert_eq!(
        sp(";SECTION=TEXT", &with_section("1.2.3.MIME", None)),
        (43, s("TEXT"), None)
    );
    assert_eq!(sp("..", &with_section("AA/BB", None)), (43, None, None));
    assert_eq!(
        sp("../;SECTION=CC", &with_section("AA/BB", None)),
        (43, s("CC"), None)
    );
    assert_eq!(
        sp("CC", &with_section("AA/BB", None)),
        (43, s("AA/CC"), None)
    );
    let mut b = base("INBOX/Drafts", 769, 43);
    b.partial = Some(Partial {
        offset: 0,
        length: Some(1024),
    });
    assert_eq!(sp(";PARTIAL=1024.1024", &b), (43, None, kib));
    assert_eq!(
        sp("../CC/;PARTIAL=0.512", &with_section("AA/BB", kib)),
        (
            43,
            s("AA/CC"),
            Some(Partial {
                offset: 0,
                length: Some(512)
            })
        )
    );
}

#[test]
fn urlauth_parts() {
    let options = ParseOptions {
        allow_urlauth: true,
        ..ParseOptions::default()
    };
    let url = parse(
        b"imap://user@example.com/INBOX/;UID=377;EXPIRE=2011-02-12T12:45:14+01:00;URLAUTH=user+frop:internal:4142434445464748494A4B4C4D4E4F5051525354",
        None,
        options,
    )
    .unwrap();
    let auth = url.urlauth.unwrap();
    assert_eq!(
        auth.rump,
        "imap://user@example.com/INBOX/;UID=377;EXPIRE=2011-02-12T12:45:14+01:00;URLAUTH=user+frop"
    );
    assert_eq!(auth.expire, Some(1_297_511_114));
    assert_eq!(auth.application, "user");
    assert_eq!(auth.access_user.as_deref(), Some("frop"));
    assert_eq!(
        auth.verifier,
        Some(("internal".into(), b"ABCDEFGHIJKLMNOPQRST".to_vec()))
    );
    let url = parse(
        b"imap://user@example.com/INBOX/;UID=377;URLAUTH=anonymous",
        None,
        options,
    )
    .unwrap();
    assert_eq!(url.urlauth.unwrap().verifier, None);
}

/// Dovecot's invalid cases (its test-imap-url.c), with the texts Dovecot's parser gives.
#[test]
fn errors_as_dovecot() {
    let plain = ParseOptions::default();
    let urlauth = ParseOptions {
        allow_urlauth: true,
        ..plain
    };
    let catenate = ParseOptions {
        require_relative: true,
        ..plain
    };
    let b = ImapUrl {
        host: Some("example.com".into()),
        userid: Some("user".into()),
        ..ImapUrl::default()
    };
    let cases: &[(&str, ParseOptions, Option<&ImapUrl>, &str)] = &[
        ("http://www.dovecot.org", plain, None, "Not an IMAP URL"),
        ("imap:/INBOX", plain, None, "Absolute IMAP URL requires `//' after `imap:'"),
        ("imap://user@example.com/INBOX", catenate, Some(&b), "Relative URL required"),
        ("", plain, None, "Relative URL not allowed"),
        ("/INBOX/;UID=377", plain, None, "Relative URL not allowed"),
        (
            "imap://user@example.com/INBOX/;UID=377/;SECTION=TEXT?ALL",
            plain,
            None,
            "Search query part only valid for messagelist-type IMAP URL",
        ),
        (
            "imap://user@example.com/INBOX/?",
            plain,
            None,
            "Empty IMAP URL search query not allowed",
        ),
        (
            "imap://user@example.com/INBOX/#Fragment",
            plain,
            None,
            "Fragment component not allowed in IMAP URL",
        ),
        (
            "imap://user@example.com/INBOX/\"",
            plain,
            None,
            "Path component contains invalid character",
        ),
        ("imap:///INBOX", plain, None, "IMAP URL does not allow empty host identifier"),
        ("imap://[]/INBOX", plain, None, "Empty IPv6 host address"),
        (
            "imap://[v08.234:232:234:234:2221]/INBOX",
            plain,
            None,
            "Future IP host address 'v08.234:232:234:234:2221' not supported",
        ),
        (
            "imap://[1::34a:34:234::6]/INBOX",
            plain,
            None,
            "Invalid IPv6 host address '1::34a:34:234::6'",
        ),
        (
            "imap://example%a.com/INBOX",
            plain,
            None,
            "Expecting hex digit after '%a', but found '.'",
        ),
        (
            "imap://example%00.com/INBOX",
            plain,
            None,
            "Percent encoding is not allowed to encode NUL character",
        ),
        ("imap://example.com:65539/INBOX", plain, None, "Invalid port number"),
        (
            "imap://user;ATH=frop@example.com",
            plain,
            None,
            "Stray ';' in userinfo `user;ATH=frop'",
        ),
        (
            "imap://user;AUTH=frop;friep@example.com",
            plain,
            None,
            "Stray ';' in userinfo `user;AUTH=frop;friep'",
        ),
        (
            "imap://user;AUTH=@example.com",
            plain,
            None,
            "Empty auth-type value after ';AUTH='",
        ),
        (
            "imap://user:password@example.com",
            plain,
            None,
            "Stray ':' in userinfo `user:password'",
        ),
        (
            "imap://user;AUTH=A:B@example.com",
            plain,
            None,
            "Stray ':' in userinfo `user;AUTH=A:B'",
        ),
        (
            "imap://example.com/INBOX/%0r/",
            plain,
            None,
            "Expecting hex digit after '%0', but found 'r'",
        ),
        (
            "imap://example.com/INBOX/Trash/%/",
            plain,
            None,
            "Unexpected URI boundary after '%'",
        ),
        (
            "imap://example.com/INBOX;UIDVALIDITY=23423;FROP=friep/",
            plain,
            None,
            "Encountered stray ';' after UIDVALIDITY",
        ),
        (
            "imap://example.com/INBOX;UIDVALIDITY=0/;UID=377",
            plain,
            None,
            "UIDVALIDITY cannot be zero",
        ),
        ("imap://example.com/INBOX;UIDVALIDITY=/", plain, None, "Empty UIDVALIDITY value"),
        (
            "imap://example.com/INBOX;UIDVALIDITY=33a/",
            plain,
            None,
            "IMAP number is too high",
        ),
        (
            "imap://example.com/INBOX;FROP=friep/",
            plain,
            None,
            "Encountered stray ';' in mailbox reference",
        ),
        (
            "imap://example.com/INBOX/;UID=377;FROP=friep/",
            plain,
            None,
            "Encountered stray ';' in UID path segment",
        ),
        ("imap://example.com/INBOX/;UID=0/", plain, None, "UID cannot be zero"),
        ("imap://example.com/INBOX/;UID=/", plain, None, "Empty UID value"),
        (
            "imap://example.com/INBOX/;UID=35/;SECTION=ALL;FROP=43/",
            plain,
            None,
            "Encountered stray ';' in SECTION path segment",
        ),
        (
            "imap://example.com/INBOX/;UID=35/;SECTION=/",
            plain,
            None,
            "Empty SECTION value",
        ),
        ("imap://example.com/INBOX/;UID=34/;PARTIAL=", plain, None, "Empty PARTIAL value"),
        ("imap://example.com/INBOX/;UID=34/;PARTIAL=0.", plain, None, "Empty PARTIAL size"),
        (
            "imap://example.com/INBOX/;UID=34/;PARTIAL=0.e10",
            plain,
            None,
            "Value 'e10' is not a valid IMAP number",
        ),
        ("imap://example.com/INBOX/;UID=34/;PARTIAL=.3", plain, None, "Empty PARTIAL offset"),
        (
            "imap://example.com/INBOX/;UID=34/;PARTIAL=5t4.3",
            plain,
            None,
            "IMAP number is too high",
        ),
        (
            "imap://example.com/INBOX/;UID=34/;PARTIAL=0.0",
            plain,
            None,
            "PARTIAL size cannot be zero",
        ),
        (
            "imap://example.com/INBOX/;UID=34/;PARTIAL=0.23409823409820938409823",
            plain,
            None,
            "IMAP number is too high",
        ),
        (
            "imap://example.com/INBOX/;UID=377/;FROP=34",
            plain,
            None,
            "Unexpected IMAP URL path segment: `;FROP=34'",
        ),
        (
            "imap://example.com/INBOX/;UID=377;FROP=34",
            plain,
            None,
            "Unrecognized IMAP URL extension: ;FROP=34",
        ),
        (
            "imap://example.com/INBOX/;UID=377;EXPIRE=2010-02-02T12:00:12Z",
            plain,
            None,
            "`;EXPIRE=' is not allowed in this context",
        ),
        (
            "imap://example.com/INBOX/;UID=377;URLAUTH=anonymous:internal:0ad89fafd79f54afe4523f45aadf2afe",
            plain,
            None,
            "`;URLAUTH=' is not allowed in this context",
        ),
        (
            "imap://example.com/INBOX/;UID=377;EXPIRE=2011-15-02T00:00:00Z;URLAUTH=anonymous:internal:0ad89fafd79f54afe4523f45aadf2afe",
            urlauth,
            None,
            "invalid date-time for `;EXPIRE='",
        ),
        (
            "imap://example.com/INBOX/;UID=377;EXPIRE=2011-10-02T00:00:00Z",
            urlauth,
            None,
            "Unrecognized IMAP URL extension: ;EXPIRE=2011-10-02T00:00:00Z",
        ),
        (
            "/INBOX/;UID=377;EXPIRE=2011-10-02T00:00:00Z;URLAUTH=anonymous:internal:0ad89fafd79f54afe4523f45aadf2afe",
            urlauth,
            Some(&b),
            "IMAP URLAUTH requires absolute URL",
        ),
        (
            "imap://example.com/INBOX/;UID=377;URLAUTH=",
            urlauth,
            None,
            "Missing URLAUTH access specifier",
        ),
        (
            "imap://example.com/INBOX/;UID=377;URLAUTH=:internal:0ad89fafd79f54afe4523f45aadf2afe",
            urlauth,
            None,
            "Empty URLAUTH access specifier",
        ),
        (
            "imap://example.com/INBOX/;UID=377;URLAUTH=user+:internal:0ad89fafd79f54afe4523f45aadf2afe",
            urlauth,
            None,
            "Empty URLAUTH access user for `user' application",
        ),
        (
            "imap://example.com/INBOX/;UID=377;URLAUTH=+frop:internal:0ad89fafd79f54afe4523f45aadf2afe",
            urlauth,
            None,
            "Empty URLAUTH access application",
        ),
        (
            "imap://example.com/INBOX/;UID=377;URLAUTH=anonymous:",
            urlauth,
            None,
            "Missing URLAUTH verifier",
        ),
        (
            "imap://example.com/INBOX/;UID=377;URLAUTH=anonymous::0ad89fafd79f54afe4523f45aadf2afe",
            urlauth,
            None,
            "Missing URLAUTH mechanism",
        ),
        (
            "imap://example.com/INBOX/;UID=377;URLAUTH=anonymous:internal:",
            urlauth,
            None,
            "Missing URLAUTH token",
        ),
        (
            "imap://example.com/INBOX/;UID=377;URLAUTH=anonymous:internal:fd79f54afe4523",
            urlauth,
            None,
            "Too short URLAUTH token",
        ),
        (
            "imap://example.com/INBOX/;UID=377;EXPIRE=2011-10-02T00:00:00Z;URLAUTH=anonymous:internal:0ad89fafd79f54afe4523q45aadf2afe",
            urlauth,
            None,
            "Invalid URLAUTH token",
        ),
    ];
    for (url, options, base, expected) in cases {
        assert_eq!(&error(url, *base, *options), expected, "{url}");
    }
}

/// What the oracle answered for CATENATE URLs (`NO [BADURL url] Invalid IMAP URL: ...`).
#[test]
fn catenate_forms_as_observed() {
    let options = ParseOptions {
        require_relative: true,
        ..ParseOptions::default()
    };
    let selected = ImapUrl {
        mailbox: Some("INBOX".into()),
        uidvalidity: 99,
        ..ImapUrl::default()
    };
    let none = ImapUrl::default();
    let url = parse(b";UID=1", Some(&selected), options).unwrap();
    assert_eq!(
        (url.mailbox.as_deref(), url.uidvalidity, url.uid),
        (Some("INBOX"), 99, 1)
    );
    let url = parse(b";UID=1", Some(&none), options).unwrap();
    assert_eq!((url.mailbox, url.uid), (None, 1));
    let url = parse(b"/Foo/;UID=1/;PARTIAL=10", Some(&selected), options).unwrap();
    assert_eq!(
        (url.mailbox.as_deref(), url.uidvalidity, url.partial),
        (
            Some("Foo"),
            0,
            Some(Partial {
                offset: 10,
                length: None
            })
        )
    );
    // The base's mailbox counts as ending in '/'.
    let url = parse(b"INBOX/;UID=1", Some(&selected), options).unwrap();
    assert_eq!(url.mailbox.as_deref(), Some("INBOX/INBOX"));
    assert_eq!(
        error("imap://a@b/INBOX/;UID=1", Some(&selected), options),
        "Relative URL required"
    );
}

fn name_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            "[a-zA-Z0-9 ._~!$'()*+,&=:@;?#%\"/-]{1,8}",
            "[\\u{80}-\\u{10ffff}]{1,3}",
            Just(".".to_string()),
            Just("..".to_string()),
            Just(String::new()),
        ],
        1..4,
    )
    .prop_map(|levels| levels.join("/"))
    .prop_filter("non-empty", |s| !s.is_empty())
}

fn url_strategy() -> impl Strategy<Value = ImapUrl> {
    (
        "[a-z][a-z0-9]{0,5}(\\.[a-z][a-z0-9]{0,5}){0,2}",
        prop::option::of(1u16..),
        prop::option::of("[a-zA-Z0-9 ;:@%/.!&=+-]{1,8}"),
        prop::option::of(prop_oneof!["[A-Z0-9-]{1,8}", Just("*".to_string())]),
        prop::option::of(name_strategy()),
        any::<u32>(),
        any::<u32>(),
        prop::option::of("[A-Z0-9. ()\"/;-]{1,12}"),
        prop::option::of((any::<u64>(), prop::option::of(1u64..))),
        prop::option::of("[ -~]{1,10}"),
    )
        .prop_map(
            |(
                host,
                port,
                userid,
                auth_type,
                mailbox,
                uidvalidity,
                uid,
                section,
                partial,
                search,
            )| {
                let has_mailbox = mailbox.is_some();
                let uid = if has_mailbox { uid } else { 0 };
                ImapUrl {
                    host: Some(host),
                    port,
                    userid,
                    auth_type,
                    uidvalidity: if has_mailbox { uidvalidity } else { 0 },
                    mailbox,
                    uid,
                    section: section.filter(|_| uid != 0),
                    partial: partial
                        .filter(|_| uid != 0)
                        .map(|(offset, length)| Partial { offset, length }),
                    search_program: search.filter(|_| uid == 0 && has_mailbox),
                    urlauth: None,
                }
            },
        )
}

proptest! {
    /// What is written reads back the same.
    #[test]
    fn written_urls_parse_back(url in url_strategy()) {
        let text = url.to_url_string();
        let parsed = parse(text.as_bytes(), None, ParseOptions::default());
        prop_assert_eq!(parsed, Ok(url), "{}", text);
    }

    /// The path of a written URL, relative to a base on the same server, gives the same URL.
    #[test]
    fn absolute_paths_resolve_against_any_base(
        // Filtered in the strategy, not assumed: half the URLs have no mailbox, and assumed
        // rejects would hit proptest's global limit in long runs.
        url in url_strategy().prop_filter("a mailbox", |u| u.mailbox.is_some()),
        base_url in url_strategy(),
    ) {
        let text = url.to_url_string();
        let path_at = text["imap://".len()..].find('/').map(|i| i + "imap://".len());
        let path = &text[path_at.unwrap_or(text.len())..];
        let parsed = parse(path.as_bytes(), Some(&base_url), ParseOptions {
            require_relative: true,
            ..ParseOptions::default()
        });
        let expected = ImapUrl {
            host: base_url.host.clone(),
            port: base_url.port,
            userid: base_url.userid.clone(),
            auth_type: base_url.auth_type.clone(),
            ..url
        };
        prop_assert_eq!(parsed, Ok(expected), "{}", path);
    }

    /// Any input gives a URL or an error, never a panic.
    #[test]
    fn any_input_is_answered(
        input in prop::collection::vec(
            prop_oneof![
                Just(b'/'), Just(b';'), Just(b'%'), Just(b'.'), Just(b':'), Just(b'@'),
                Just(b'?'), Just(b'#'), Just(b'['), Just(b']'), Just(b'='), any::<u8>(),
                prop::sample::select(b"imapUIDVALIDTYSECTONPRTLURLAUTHEXP0123456789".to_vec()),
            ],
            0..60,
        ),
        with_base in any::<bool>(),
        urlauth in any::<bool>(),
    ) {
        let b = base("INBOX/Sub", 5, 0);
        let options = ParseOptions { require_relative: false, allow_urlauth: urlauth };
        let _ = parse(&input, with_base.then_some(&b), options);
    }
}
