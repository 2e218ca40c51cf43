//! Password schemes against the oracle, Debian's Dovecot 2.3 (`t/oracle/dovecot doveadm`):
//! every hash `doveadm pw` makes verifies in cote (and a wrong password does not), every hash
//! `coteadm pw` makes verifies in `doveadm pw -t`, and both tools answer the same errors,
//! prompts and exit codes alike. The oracle missing is a failure, never a skip.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use cote::auth::scheme::{self, StoredPassword, DEFAULT_SCHEME};

const USER: &str = "bob@realm";

/// A doveadm that can run: a minimal config and the oracle wrapper.
struct Oracle {
    _dir: tempfile::TempDir,
    config: PathBuf,
}

impl Oracle {
    fn new() -> Oracle {
        assert!(
            nix::unistd::geteuid().is_root(),
            "the doveadm oracle runs in a private mount namespace and needs root"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("dovecot.conf");
        std::fs::write(&config, "log_path = /dev/stderr\n").expect("write config");
        Oracle { _dir: dir, config }
    }

    /// `doveadm -c CONFIG pw ARGS`, with `stdin` as standard input.
    fn pw<A: AsRef<OsStr>>(&self, args: &[A], stdin: &[u8]) -> Output {
        let wrapper = Path::new(env!("CARGO_MANIFEST_DIR")).join("t/oracle/dovecot");
        let mut command = Command::new(&wrapper);
        command
            .arg("doveadm")
            .arg("-c")
            .arg(&self.config)
            .arg("pw")
            .args(args);
        let output = run(command, stdin);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !stderr.contains("t/oracle/dovecot:") && !stderr.contains("unshare:"),
            "the Dovecot oracle did not run ({}): {stderr}\n\
             run `make oracle` or set COTE_DOVECOT_ROOT to an unpacked Debian dovecot-core",
            wrapper.display()
        );
        output
    }
}

/// `coteadm pw ARGS`.
fn coteadm<A: AsRef<OsStr>>(args: &[A], stdin: &[u8]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_coteadm"));
    command.arg("pw").args(args);
    run(command, stdin)
}

fn run(mut command: Command, stdin: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    if let Some(mut input) = child.stdin.take() {
        // The program may exit before reading everything; that is its answer.
        let _ = input.write_all(stdin);
    }
    child.wait_with_output().expect("wait")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The one line a successful `pw` prints.
fn hash_line(output: &Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed: {:?} {}",
        output.status,
        text(&output.stderr)
    );
    let out = text(&output.stdout);
    out.strip_suffix('\n')
        .filter(|line| !line.contains('\n'))
        .unwrap_or_else(|| panic!("{what}: not one line: {out:?}"))
        .to_string()
}

/// `doveadm pw -l` and `coteadm pw -l` list the same schemes.
fn oracle_schemes(oracle: &Oracle) -> Vec<String> {
    let listed = hash_line(&oracle.pw(&["-l"], b""), "doveadm pw -l");
    let mut theirs: Vec<String> = listed.split_whitespace().map(str::to_string).collect();
    let mut ours: Vec<String> = scheme::scheme_names().map(str::to_string).collect();
    theirs.sort();
    ours.sort();
    assert_eq!(ours, theirs, "scheme lists differ");
    theirs
}

/// Extra `-r` values worth a separate check, per scheme.
fn rounds_variants(scheme: &str) -> &'static [&'static str] {
    match scheme {
        "SHA256-CRYPT" | "SHA512-CRYPT" => &["1000", "7000"],
        "BLF-CRYPT" | "CRYPT" => &["4", "6"],
        "PBKDF2" => &["1000"],
        "ARGON2I" => &["6"],
        "ARGON2ID" => &["3"],
        _ => &[],
    }
}

/// Scheme names to try: each plain name, some rounds, and encoding suffixes.
fn generation_cases(schemes: &[String]) -> Vec<Vec<String>> {
    let mut cases = Vec::new();
    for name in schemes {
        cases.push(vec!["-s".to_string(), name.clone()]);
        for rounds in rounds_variants(name) {
            cases.push(vec![
                "-s".to_string(),
                name.clone(),
                "-r".to_string(),
                rounds.to_string(),
            ]);
        }
    }
    for name in [
        "SHA.HEX",
        "ssha256.b64",
        "PLAIN.BASE64",
        "CRAM-MD5.B64",
        "SHA512-CRYPT.hex",
        "plain-md5.b64",
    ] {
        cases.push(vec!["-s".to_string(), name.to_string()]);
    }
    cases
}

fn with_password<'a>(case: &'a [String], password: &'a str) -> Vec<&'a str> {
    let mut args: Vec<&str> = case.iter().map(String::as_str).collect();
    args.extend(["-p", password, "-u", USER]);
    args
}

#[test]
fn doveadm_hashes_verify_in_cote() {
    let oracle = Oracle::new();
    let schemes = oracle_schemes(&oracle);
    for case in generation_cases(&schemes) {
        let made = hash_line(
            &oracle.pw(&with_password(&case, "secret"), b""),
            "doveadm pw",
        );
        let stored = StoredPassword::parse(made.as_bytes(), DEFAULT_SCHEME);
        let right = stored.verify(b"secret", Some(USER));
        let wrong = stored.verify(b"Secret", Some(USER));
        if stored.scheme_name() == "PLAIN-TRUNC" {
            // Dovecot 2.3 writes PLAIN-TRUNC without its length prefix and then refuses it
            // itself; cote refuses it the same way.
            let theirs = oracle.pw(&["-t", &made, "-p", "secret"], b"");
            assert_eq!(theirs.status.code(), Some(75));
            let reason = right
                .expect_err("unprefixed PLAIN-TRUNC")
                .reason()
                .into_owned();
            assert_eq!(
                text(&theirs.stderr),
                format!("Fatal: reverse password verification check failed: {reason}\n")
            );
            continue;
        }
        assert_eq!(right, Ok(true), "{case:?}: {made}");
        assert_eq!(wrong, Ok(false), "{case:?}: {made}");
        // And coteadm's -t says what doveadm's -t says.
        let args = ["-t", made.as_str(), "-p", "secret", "-u", USER];
        let ours = coteadm(&args, b"");
        assert_eq!(
            hash_line(&ours, "coteadm pw -t"),
            format!("{made} (verified)")
        );
    }
}

#[test]
fn cote_hashes_verify_in_doveadm() {
    let oracle = Oracle::new();
    let schemes = oracle_schemes(&oracle);
    for case in generation_cases(&schemes) {
        let made = hash_line(&coteadm(&with_password(&case, "secret"), b""), "coteadm pw");
        let scheme = case[1].to_ascii_uppercase();
        assert!(made.starts_with(&format!("{{{scheme}}}")), "{made}");
        let right = oracle.pw(&["-t", &made, "-p", "secret", "-u", USER], b"");
        assert_eq!(
            hash_line(&right, &format!("doveadm pw -t {made}")),
            format!("{made} (verified)")
        );
        let wrong = oracle.pw(&["-t", &made, "-p", "Secret", "-u", USER], b"");
        assert_eq!(
            wrong.status.code(),
            Some(75),
            "{made} verified with a wrong password"
        );
        assert_eq!(
            text(&wrong.stderr),
            "Fatal: reverse password verification check failed: Password mismatch\n",
            "{made}"
        );
    }
}

#[test]
fn cote_reverse_verify_matches_doveadm() {
    let oracle = Oracle::new();
    for scheme in [
        "SHA",
        "SCRAM-SHA-256",
        "DIGEST-MD5",
        "SHA512-CRYPT",
        "PLAIN.b64",
    ] {
        let args = ["-V", "-s", scheme, "-p", "secret", "-u", USER];
        let ours = hash_line(&coteadm(&args, b""), "coteadm pw -V");
        assert!(ours.ends_with(" (verified)"), "{ours}");
        let made = ours.trim_end_matches(" (verified)");
        let theirs = oracle.pw(&["-t", made, "-p", "secret", "-u", USER], b"");
        assert_eq!(hash_line(&theirs, "doveadm pw -t"), ours);
    }
}

/// Runs the same `pw` command line through both tools; they must agree on exit code,
/// standard output and standard error.
fn same_answer<A: AsRef<OsStr> + std::fmt::Debug>(oracle: &Oracle, args: &[A], stdin: &[u8]) {
    let theirs = oracle.pw(args, stdin);
    let ours = coteadm(args, stdin);
    assert_eq!(
        (ours.status.code(), text(&ours.stdout), text(&ours.stderr)),
        (
            theirs.status.code(),
            text(&theirs.stdout),
            text(&theirs.stderr)
        ),
        "pw {args:?} with input {:?}",
        text(stdin)
    );
}

#[test]
fn errors_and_exit_codes_match_doveadm() {
    let oracle = Oracle::new();
    let failing_hashes = [
        "{PLAIN}secret-not",
        "secret",
        "{FOO}secret",
        "{PLAIN.FOO}secret",
        "{SHA}!!!",
        "{SHA}abcd",
        "{SHA.HEX}zz",
        "{SSHA}abcd",
        "{SMD5}abcd",
        "{MD5}zzz",
        "{PLAIN-TRUNC}secret",
        "{PBKDF2}x",
        "{PBKDF2}$1$salt$x$0c60c80f961f0e71f3a9b524af6012062fe037a6",
        "{PBKDF2}$1$salt$1$00",
        "{OTP}x",
        "{SCRAM-SHA-1}x",
        "{SCRAM-SHA-1}100,QQ==,QQ==,QQ==",
        "{SCRAM-SHA-256}4096,QQ==,QQ==,QQ==",
        "{BLF-CRYPT}$1$abc",
        "{CRYPT}",
        "{CRYPT}JBOZ0DgmtucwE",
        "{CRAM-MD5}00",
        "{DIGEST-MD5}908ff320725b0d3989b772c8bcf6b7e2",
    ];
    for hash in failing_hashes {
        same_answer(&oracle, &["-t", hash, "-p", "secret", "-u", USER], b"");
    }
    for hash in [
        "{PLAIN-TRUNC}3-sec",
        "$1$saltsalt$9xy1btjgzLYfb7hivXtC//$junk",
        "{md5}5ebe2294ecd0e0f08eab7690d2a6ee69",
    ] {
        same_answer(&oracle, &["-t", hash, "-p", "secret"], b"");
    }
    // Deterministic generation prints the same line.
    for scheme in [
        "plain",
        "SHA",
        "sha256.hex",
        "PLAIN-MD4",
        "LDAP-MD5",
        "CRAM-MD5",
        "HMAC-MD5.b64",
    ] {
        same_answer(&oracle, &["-s", scheme, "-p", "secret"], b"");
    }
    same_answer(
        &oracle,
        &["-s", "DIGEST-MD5", "-p", "secret", "-u", USER],
        b"",
    );
    same_answer(&oracle, &["-s", "plain.foo", "-p", "secret"], b"");
    same_answer(&oracle, &["-s", "NOPE", "-p", "secret"], b"");
    same_answer(&oracle, &["-s", "SHA", "-p", "x", "-r", "5000000000"], b"");
    same_answer(&oracle, &["-s", "SHA", "-p", "x", "-r", "abc"], b"");
    same_answer(&oracle, &["--scheme=SHA", "--plaintext", "x"], b"");
    // Usage errors.
    same_answer(&oracle, &["-x"], b"");
    same_answer(&oracle, &["-s"], b"");
    same_answer(&oracle, &["extra"], b"");
}

#[test]
fn passwords_from_stdin_match_doveadm() {
    let oracle = Oracle::new();
    same_answer(&oracle, &["-s", "PLAIN"], b"one\none\n");
    same_answer(&oracle, &["-s", "PLAIN"], b"a\nb\nc\nc\n");
    same_answer(&oracle, &["-s", "PLAIN"], b"a\nb\nc\nd\ne\nf\n");
    same_answer(&oracle, &["-s", "PLAIN"], b"x\r\nx\n");
    same_answer(&oracle, &["-s", "SHA"], b"");
    same_answer(&oracle, &["-t", "{PLAIN}x"], b"x\n");
    same_answer(&oracle, &["-t", "{PLAIN}x"], b"y\n");
}

#[test]
fn non_utf8_passwords_match_doveadm() {
    let oracle = Oracle::new();
    let latin1 = OsString::from_vec(b"gr\xfc\xdf".to_vec());
    for scheme in ["PLAIN", "PLAIN.B64", "SHA256", "CRAM-MD5"] {
        same_answer(
            &oracle,
            &["-s".into(), scheme.into(), "-p".into(), latin1.clone()],
            b"",
        );
    }
    same_answer(&oracle, &["-s", "PLAIN"], b"gr\xfc\xdf\ngr\xfc\xdf\n");
    let test = OsString::from_vec(b"{PLAIN}gr\xfc\xdf".to_vec());
    same_answer(&oracle, &["-t".into(), test, "-p".into(), latin1], b"");
}
