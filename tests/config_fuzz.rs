//! Random configurations never make the parser, the checks or the dumps panic.

use std::ffi::OsString;

use proptest::prelude::*;

/// Pieces that exercise every syntax rule, glued at random.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\n".to_string()),
        Just(" ".to_string()),
        Just("\t".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("=".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("#".to_string()),
        Just("\\".to_string()),
        Just("$".to_string()),
        Just("<".to_string()),
        Just("/".to_string()),
        Just("!include ".to_string()),
        Just("!include_try ".to_string()),
        Just("*.conf".to_string()),
        Just("{a,b}".to_string()),
        Just("$ENV:HOME".to_string()),
        Just("$mail_plugins".to_string()),
        Just("service imap".to_string()),
        Just("inet_listener imap".to_string()),
        Just("namespace inbox".to_string()),
        Just("mailbox Trash".to_string()),
        Just("passdb".to_string()),
        Just("plugin".to_string()),
        Just("protocol imap".to_string()),
        Just("protocol !imap".to_string()),
        Just("local 127.0.0.1".to_string()),
        Just("remote 10.0.0.0/8".to_string()),
        Just("local_name mail.example.com".to_string()),
        Just("mail_plugins".to_string()),
        Just("mail_location".to_string()),
        Just("mmap_disable".to_string()),
        Just("imap_max_line_length".to_string()),
        Just("mailbox_idle_check_interval".to_string()),
        Just("port".to_string()),
        Just("mode".to_string()),
        Just("process_limit".to_string()),
        Just("ssl_disable".to_string()),
        Just("protocols".to_string()),
        Just("yes".to_string()),
        Just("10M".to_string()),
        Just("30 secs".to_string()),
        Just("0600".to_string()),
        "[a-z_]{1,12}",
        "[ -~]{0,6}",
        any::<char>().prop_map(String::from),
    ]
}

fn config_text() -> impl Strategy<Value = String> {
    prop::collection::vec(token(), 0..60).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn parser_never_panics(main in config_text(), included in config_text()) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.conf"), &included).unwrap();
        std::fs::write(dir.path().join("b.conf"), "mail_uid = 1\n").unwrap();
        let conf = dir.path().join("dovecot.conf");
        std::fs::write(&conf, &main).unwrap();

        if let Ok(config) = cote::config::Config::load(&conf) {
            let global = config.global();
            let _ = global.str("mail_location");
            for service in global.sections("service") {
                let _ = service.sections("inet_listener");
            }
            let _ = config.settings(&cote::config::FilterQuery {
                protocol: Some("imap".into()),
                ..Default::default()
            });
        }
        for args in [&["-n"][..], &["-a", "-P"], &["-x", "-N"], &["-h", "service/imap"]] {
            let mut argv: Vec<OsString> = vec!["-c".into(), conf.clone().into()];
            argv.extend(args.iter().map(OsString::from));
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let status = cote::config::cli::run_with("coteconf", &argv, &mut out, &mut err);
            prop_assert!(status == 0 || status == 89);
        }
    }
}

#[test]
fn huge_paths_and_lines_are_plain_errors() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("dovecot.conf");
    let deep = "plugin/".repeat(200_000);
    std::fs::write(&conf, format!("{deep}x = 1\n")).unwrap();
    let error = cote::config::Config::load(&conf).unwrap_err();
    assert!(error
        .message()
        .starts_with("Unknown setting: plugin/plugin/"));
    let long = format!("mail_location = {}\n", "x".repeat(1 << 20));
    std::fs::write(&conf, long).unwrap();
    let config = cote::config::Config::load(&conf).unwrap();
    assert_eq!(config.global().str("mail_location").len(), 1 << 20);
}
