//! Every configuration error, with Dovecot's exact text: each case is run through Debian's
//! doveconf and through coteconf, and both must print the expected fatal message.

mod config_support;

use config_support::{coteconf, doveconf};

struct Case {
    /// Files to write: the first is the main configuration.
    files: &'static [(&'static str, &'static str)],
    /// Extra arguments (besides `-c FILE`).
    args: &'static str,
    /// The fatal message; `{dir}` is the directory holding the files.
    expected: &'static str,
}

const fn case(files: &'static [(&'static str, &'static str)], expected: &'static str) -> Case {
    Case {
        files,
        args: "-n",
        expected,
    }
}

const LINE: &str = "Error in configuration file {dir}/dovecot.conf line";

const CASES: &[Case] = &[
    // Settings and sections.
    case(&[("dovecot.conf", "mail_locaton = x\n")], "{LINE} 1: Unknown setting: mail_locaton"),
    case(
        &[("dovecot.conf", "service imap {\n  mail_location = x\n}\n")],
        "{LINE} 2: Unknown setting: service { mail_location",
    ),
    case(
        &[("dovecot.conf", "namespace inbox {\n  mailbox Trash {\n    bogus = x\n  }\n}\n")],
        "{LINE} 3: Unknown setting: namespace { mailbox { bogus",
    ),
    // The section being opened is already part of the path.
    case(&[("dovecot.conf", "foo {\n}\n")], "{LINE} 1: Unknown setting: foo { foo"),
    case(&[("dovecot.conf", "= value\n")], "{LINE} 1: Missing key name ('=' at the beginning of line)"),
    case(&[("dovecot.conf", "plugin {\n  sub {\n  }\n}\n")], "{LINE} 2: Section not allowed here"),
    case(
        &[("dovecot.conf", "passdb x {\n  driver = pam\n}\npassdb x {\n  driver = pam\n}\n")],
        "{LINE} 4: passdb/x already exists",
    ),
    case(&[("dovecot.conf", "service/nope/process_limit = 1\n")], "{LINE} 1: Unknown setting: service/nope/process_limit"),
    // Values.
    case(&[("dovecot.conf", "mmap_disable = maybe\n")], "{LINE} 1: Invalid boolean value: maybe (use yes or no)"),
    case(&[("dovecot.conf", "first_valid_uid = -1\n")], "{LINE} 1: Invalid number -1: Number too small"),
    case(&[("dovecot.conf", "first_valid_uid = 5000000000\n")], "{LINE} 1: Invalid number 5000000000: Number too large"),
    case(&[("dovecot.conf", "first_valid_uid = 10x\n")], "{LINE} 1: Invalid number 10x: Not a valid number"),
    case(
        &[("dovecot.conf", "service imap {\n  unix_listener x {\n    mode = 0699\n  }\n}\n")],
        "{LINE} 3: Invalid number: 0699",
    ),
    case(&[("dovecot.conf", "imap_max_line_length = 10 Q\n")], "{LINE} 1: Invalid size: 10 Q"),
    case(&[("dovecot.conf", "imap_max_line_length = 99999999999999999999\n")], "{LINE} 1: Invalid size: 99999999999999999999"),
    case(&[("dovecot.conf", "imap_max_line_length = 99999999999 T\n")], "{LINE} 1: Size is too large: 99999999999 T"),
    case(
        &[("dovecot.conf", "mailbox_idle_check_interval = 30\n")],
        "{LINE} 1: Time interval '30' is missing units (add e.g. 's' for seconds)",
    ),
    case(&[("dovecot.conf", "mailbox_idle_check_interval = 3 fortnights\n")], "{LINE} 1: Invalid time interval: 3 fortnights"),
    case(
        &[("dovecot.conf", "mailbox_idle_check_interval = 1500 ms\n")],
        "{LINE} 1: Milliseconds not supported for this setting: 1500 ms",
    ),
    case(
        &[("dovecot.conf", "mailbox_idle_check_interval = 9999999999 w\n")],
        "{LINE} 1: Time interval is too large: 9999999999 w",
    ),
    case(
        &[("dovecot.conf", "service imap-login {\n  inet_listener imap {\n    port = 70000\n  }\n}\n")],
        "{LINE} 3: Invalid port number 70000",
    ),
    case(&[("dovecot.conf", "mail_fsync = sometimes\n")], "{LINE} 1: Invalid value: sometimes"),
    case(&[("dovecot.conf", "lock_method = lockf\n")], "{LINE} 1: Invalid value: lockf"),
    case(&[("dovecot.conf", "ssl {\n}\n")], "{LINE} 1: Invalid value: 0"),
    // Syntax.
    case(&[("dovecot.conf", "service imap\n")], "{LINE} 1: Expecting '{'"),
    case(&[("dovecot.conf", "service imap{\n}\n")], "{LINE} 1: Expecting '{'"),
    case(&[("dovecot.conf", "mailbox \"Sent {\n")], "{LINE} 1: Expecting '{'"),
    case(&[("dovecot.conf", "dict { }\n")], "{LINE} 1: Garbage after '{'"),
    case(&[("dovecot.conf", "mail_uid = 1\n}\n")], "{LINE} 2: Unexpected '}'"),
    case(
        &[("dovecot.conf", "mail_uid = 1\nservice imap {\n  process_limit = 1\n")],
        "Error in configuration file {dir}/dovecot.conf: Missing '}' (section started at {dir}/dovecot.conf:2)",
    ),
    case(
        &[("dovecot.conf", "!include open.inc\n"), ("open.inc", "namespace inbox {\n")],
        "Error in configuration file {dir}/dovecot.conf: Missing '}' (section started at {dir}/open.inc:1)",
    ),
    // Includes.
    case(&[("dovecot.conf", "!include dovecot.conf\n")], "{LINE} 1: Recursive include file: {dir}/dovecot.conf"),
    case(
        &[("dovecot.conf", "!include a.conf\n"), ("a.conf", "mail_uid = 1\n!include dovecot.conf\n")],
        "Error in configuration file {dir}/a.conf line 2: Recursive include file: {dir}/dovecot.conf",
    ),
    case(
        &[("dovecot.conf", "!include {a,a}.conf\n"), ("a.conf", "mail_uid = 1\n")],
        "Error in configuration file {dir}/a.conf line 0: Recursive include file: {dir}/a.conf",
    ),
    case(&[("dovecot.conf", "!include missing.conf\n")], "{LINE} 1: No matches"),
    case(&[("dovecot.conf", "!include conf.d/*.conf\n")], "{LINE} 1: No matches"),
    case(
        &[("dovecot.conf", "!include a.conf\n"), ("a.conf", "mail_uid = 1\nbad line\n")],
        "Error in configuration file {dir}/a.conf line 2: Expecting '{'",
    ),
    // Variables and files.
    // A self-reference is expanded even by -n, before the key is known to be unknown.
    case(&[("dovecot.conf", "nope_setting = $nope_setting x\n")], "{LINE} 1: Unknown variable: $nope_setting"),
    Case {
        files: &[("dovecot.conf", "auth_realms = a $auth_realm b\n")],
        args: "-x -n",
        expected: "{LINE} 1: Unknown variable: $auth_realm",
    },
    Case {
        files: &[("dovecot.conf", "mail_location = $unknown\n")],
        args: "-x -n",
        expected: "{LINE} 1: Unknown variable: $unknown",
    },
    Case {
        files: &[("dovecot.conf", "mail_location = $plugin\n")],
        args: "-x -n",
        expected: "{LINE} 1: Invalid variable: $plugin",
    },
    Case {
        files: &[("dovecot.conf", "ssl_cert = </nonexistent/cert.pem\n")],
        args: "-x -n",
        expected: "{LINE} 1: ssl_cert: Can't open file /nonexistent/cert.pem: No such file or directory",
    },
    case(&[("dovecot.conf", "mail_debug = <file\n")], "{LINE} 1: Invalid boolean value: <file (use yes or no)"),
    // Filters.
    case(
        &[("dovecot.conf", "protocol imap {\n  protocol pop3 {\n  }\n}\n")],
        "{LINE} 2: Nested protocol { protocol { .. } } block not allowed",
    ),
    case(
        &[("dovecot.conf", "protocol imap {\n  local 127.0.0.1 {\n  }\n}\n")],
        "{LINE} 2: protocol { local { .. } } not allowed (use local { protocol { .. } } instead)",
    ),
    case(
        &[("dovecot.conf", "protocol imap {\n  remote 127.0.0.1 {\n  }\n}\n")],
        "{LINE} 2: protocol { remote { .. } } not allowed (use remote { protocol { .. } } instead)",
    ),
    case(
        &[("dovecot.conf", "protocol imap {\n  local_name x {\n  }\n}\n")],
        "{LINE} 2: protocol { local_name { .. } } not allowed (use local_name { protocol { .. } } instead)",
    ),
    case(
        &[("dovecot.conf", "remote 10.0.0.0/8 {\n  local 127.0.0.1 {\n  }\n}\n")],
        "{LINE} 2: remote { local { .. } } not allowed (use local { remote { .. } } instead)",
    ),
    case(
        &[("dovecot.conf", "remote 10.0.0.0/8 {\n  local_name x {\n  }\n}\n")],
        "{LINE} 2: remote { local_name { .. } } not allowed (use local_name { remote { .. } } instead)",
    ),
    case(
        &[("dovecot.conf", "local_name x {\n  local 127.0.0.1 {\n  }\n}\n")],
        "{LINE} 2: local_name { local { .. } } not allowed (use local { local_name { .. } } instead)",
    ),
    case(
        &[("dovecot.conf", "local 10.0.0.0/8 {\n  local 192.168.0.0/16 {\n  }\n}\n")],
        "{LINE} 2: local net1 { local net2 { .. } } requires net2 to be inside net1",
    ),
    case(
        &[("dovecot.conf", "remote 10.0.0.0/16 {\n  remote 10.0.0.0/8 {\n  }\n}\n")],
        "{LINE} 2: remote net1 { remote net2 { .. } } requires net2 to be inside net1",
    ),
    case(&[("dovecot.conf", "local 127.0.0.1/33 {\n}\n")], "{LINE} 1: Invalid network mask: 33"),
    case(
        &[("dovecot.conf", "remote nonexistent.invalid {\n}\n")],
        "{LINE} 1: gethostbyname(nonexistent.invalid) failed: Name or service not known",
    ),
    case(
        &[("dovecot.conf", "local 127.0.0.1 {\n  auth_mechanisms = plain\n}\n")],
        "{LINE} 2: Auth settings not supported inside local/remote blocks: auth_mechanisms",
    ),
    case(
        &[("dovecot.conf", "remote 127.0.0.1 {\n  userdb {\n  }\n}\n")],
        "{LINE} 2: Auth settings not supported inside local/remote blocks: userdb",
    ),
    Case {
        files: &[("dovecot.conf", "mail_uid = 1\n")],
        args: "-n -f bogus=1",
        expected: "Unknown filter argument: bogus=1",
    },
    // Whole-configuration checks.
    case(
        &[("dovecot.conf", "mail_nfs_index = yes\n")],
        "Error in configuration file {dir}/dovecot.conf: mail_nfs_index=yes requires mmap_disable=yes",
    ),
    case(
        &[("dovecot.conf", "mail_nfs_index = yes\nmmap_disable = yes\n")],
        "Error in configuration file {dir}/dovecot.conf: mail_nfs_index=yes requires mail_fsync=always",
    ),
    case(
        &[("dovecot.conf", "protocol imap {\n  mail_nfs_index = yes\n  mmap_disable = yes\n  mail_fsync = always\n}\nprotocol pop3 {\n  mail_nfs_index = yes\n}\n")],
        "Error in configuration file {dir}/dovecot.conf: mail_nfs_index=yes requires mmap_disable=yes",
    ),
    case(
        &[("dovecot.conf", "protocols = imap smtp\n")],
        "Error in configuration file {dir}/dovecot.conf: protocols: Unknown protocol: smtp",
    ),
    case(
        &[("dovecot.conf", "passdb {\n  args = x\n}\n")],
        "Error in configuration file {dir}/dovecot.conf: passdb is missing driver",
    ),
    case(
        &[("dovecot.conf", "service imap-login {\n  inet_listener imap2 {\n    port = 143\n  }\n}\nprotocols = imap\n")],
        "Error in configuration file {dir}/dovecot.conf: duplicate listener: 143:",
    ),
    case(
        &[("dovecot.conf", "service auth {\n  process_limit = 2\n}\n")],
        "Error in configuration file {dir}/dovecot.conf: service(auth): process_limit must be 1",
    ),
    case(
        &[("dovecot.conf", "service imap {\n  vsz_limit = 100k\n}\nprotocols = imap\n")],
        "Error in configuration file {dir}/dovecot.conf: service(imap): vsz_limit is too low",
    ),
    case(
        &[("dovecot.conf", "namespace inbox {\n  mailbox Trash {\n    special_use = Trash\n  }\n}\n")],
        "Error in configuration file {dir}/dovecot.conf: mailbox Trash: unknown special_use: Trash",
    ),
    case(
        &[("dovecot.conf", "namespace {\n  separator = ::\n  prefix = x/\n}\n")],
        "Error in configuration file {dir}/dovecot.conf: Namespace 'x/': Hierarchy separator must be only one character long",
    ),
    case(
        &[("dovecot.conf", "namespace a {\n  prefix = a/\n  alias_for = b/\n}\n")],
        "Error in configuration file {dir}/dovecot.conf: Namespace 'a/': alias_for points to unknown namespace: b/",
    ),
    case(
        &[("dovecot.conf", "imap_client_workarounds = tb-extra-mailbox-sep bogus\n")],
        "Error in configuration file {dir}/dovecot.conf: imap_client_workarounds: Unknown workaround: bogus",
    ),
    case(
        &[("dovecot.conf", "pop3_uidl_format = %x\n")],
        "Error in configuration file {dir}/dovecot.conf: Unknown pop3_uidl_format variable: %x",
    ),
    case(
        &[("dovecot.conf", "mail_attachment_hash = %{crc32}\n")],
        "Error in configuration file {dir}/dovecot.conf: Invalid mail_attachment_hash setting: Unknown hash method: crc32",
    ),
    case(
        &[("dovecot.conf", "syslog_facility = local9\n")],
        "Error in configuration file {dir}/dovecot.conf: Unknown syslog_facility: local9",
    ),
    case(
        &[("dovecot.conf", "ssl_verify_client_cert = yes\n")],
        "Error in configuration file {dir}/dovecot.conf: ssl_verify_client_cert set, but ssl_ca not",
    ),
    case(
        &[("dovecot.conf", "default_internal_user = no-such-user-here\n")],
        "Error in configuration file {dir}/dovecot.conf: default_internal_user doesn't exist: no-such-user-here",
    ),
    case(
        &[("dovecot.conf", "local 127.0.0.1 {\n  mail_uid = a\n  remote 10.0.0.1 {\n  }\n}\nremote 10.0.0.1 {\n  mail_uid = b\n}\n")],
        "Error in configuration file {dir}/dovecot.conf: Conflict in setting mail_uid found from filter at {dir}/dovecot.conf:6",
    ),
    case(
        &[("dovecot.conf", "local 127.0.0.1 {\n  mail_uid = a\n}\nremote 127.0.0.1 {\n  local 127.0.0.1 {\n  }\n}\n")],
        "{LINE} 5: remote { local { .. } } not allowed (use local { remote { .. } } instead)",
    ),
];

#[test]
fn unreadable_include_matches_doveconf() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/nonexistent/target.conf", dir.path().join("dangling.conf"))
        .unwrap();
    let conf = dir.path().join("dovecot.conf");
    std::fs::write(&conf, "!include dangling.conf\n").unwrap();
    let args = vec![
        "-c".to_string(),
        conf.display().to_string(),
        "-n".to_string(),
    ];
    let expected = format!(
        "Error in configuration file {} line 1: Couldn't open include file {}/dangling.conf: No such file or directory",
        conf.display(),
        dir.path().display()
    );
    for run in [
        coteconf(dir.path(), &args, &[]),
        doveconf(dir.path(), &args, &[]),
    ] {
        assert_eq!(fatal(&run.stderr), Some(expected.as_str()));
        assert_eq!(run.status, 89);
    }
    // !include_try skips it.
    std::fs::write(&conf, "!include_try dangling.conf\nmail_uid = 1\n").unwrap();
    config_support::assert_same(dir.path(), &args, &[]);
}

fn fatal(stderr: &[String]) -> Option<&str> {
    stderr
        .iter()
        .rev()
        .find_map(|line| line.strip_prefix("Fatal: "))
}

#[test]
fn errors_match_doveconf_exactly() {
    let mut failures = Vec::new();
    for (index, case) in CASES.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in case.files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let conf = dir.path().join(case.files[0].0);
        let mut args = vec!["-c".to_string(), conf.display().to_string()];
        args.extend(case.args.split_whitespace().map(str::to_string));
        let expected = case
            .expected
            .replace("{LINE}", LINE)
            .replace("{dir}", &dir.path().display().to_string());
        let ours = coteconf(dir.path(), &args, &[]);
        let theirs = doveconf(dir.path(), &args, &[]);
        for (who, run) in [("coteconf", &ours), ("doveconf", &theirs)] {
            if fatal(&run.stderr) != Some(expected.as_str()) || run.status != 89 {
                failures.push(format!(
                    "case {index} ({:?}): {who} exited {} with {:?}, expected {expected:?}",
                    case.files[0].1, run.status, run.stderr
                ));
            }
        }
        if ours.stdout != theirs.stdout {
            failures.push(format!(
                "case {index}: stdout differs:\n{}\n---\n{}",
                theirs.stdout, ours.stdout
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(CASES.len() >= 60);
}
