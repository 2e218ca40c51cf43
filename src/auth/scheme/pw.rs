//! `coteadm pw`: Dovecot's `doveadm pw`, with its options, prompts, output and exit codes.
//!
//! ```text
//! coteadm pw [-l] [-p plaintext] [-r rounds] [-s scheme] [-t hash] [-u user] [-V]
//! ```

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;

use super::{generate_encoded, scheme_names, verify_raw, Params, SchemeError, StoredPassword};
use crate::log::Level;

/// doveadm's exit codes: usage error, fatal error, passwords that don't match three times.
pub const EXIT_USAGE: u8 = 64;
pub const EXIT_FATAL: u8 = 75;
pub const EXIT_MISMATCH: u8 = 1;

const DEFAULT_SCHEME: &str = "CRYPT";
const LIVES: u32 = 3;

/// The command line of `pw`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PwOptions {
    pub list: bool,
    pub plaintext: Option<Vec<u8>>,
    /// `-r` as doveadm reads it: a number that does not parse is ignored.
    pub rounds: Option<i64>,
    pub scheme: Option<String>,
    pub test_hash: Option<Vec<u8>>,
    pub user: Option<String>,
    pub reverse_verify: bool,
}

/// (short, long, takes a value)
const OPTIONS: &[(char, &str, bool)] = &[
    ('l', "list", false),
    ('p', "plaintext", true),
    ('r', "rounds", true),
    ('s', "scheme", true),
    ('t', "test-hash", true),
    ('u', "user", true),
    ('V', "reverse-verify", false),
];

impl PwOptions {
    fn set(&mut self, short: char, value: Option<&[u8]>) {
        let text = || value.map(|v| String::from_utf8_lossy(v).into_owned());
        match short {
            'l' => self.list = true,
            'p' => self.plaintext = value.map(<[u8]>::to_vec),
            'r' => self.rounds = text().and_then(|v| v.parse().ok()),
            's' => self.scheme = text(),
            't' => self.test_hash = value.map(<[u8]>::to_vec),
            'u' => self.user = text(),
            _ => self.reverse_verify = true,
        }
    }

    /// Reads the arguments after `pw`, getopt style (`-s X`, `-sX`, `-lV`, `--scheme=X`,
    /// `--scheme X`, `--`). The error is the line to print before exiting with 64.
    pub fn parse(args: &[OsString]) -> Result<PwOptions, String> {
        let mut opts = PwOptions::default();
        let mut extra = Vec::new();
        let mut args = args.iter().map(|a| a.as_bytes());
        while let Some(arg) = args.next() {
            if arg == b"--" {
                extra.extend(
                    args.by_ref()
                        .map(|a| String::from_utf8_lossy(a).into_owned()),
                );
                break;
            }
            if let Some(long) = arg.strip_prefix(b"--") {
                let (name, inline) = match long.iter().position(|&c| c == b'=') {
                    Some(eq) => (&long[..eq], Some(&long[eq + 1..])),
                    None => (long, None),
                };
                let shown = String::from_utf8_lossy(name);
                let Some(&(short, _, takes_value)) =
                    OPTIONS.iter().find(|(_, l, _)| l.as_bytes() == name)
                else {
                    return Err(format!("pw: unrecognized option '--{shown}'"));
                };
                let value =
                    match (takes_value, inline) {
                        (true, Some(v)) => Some(v),
                        (true, None) => Some(args.next().ok_or_else(|| {
                            format!("pw: option '--{shown}' requires an argument")
                        })?),
                        (false, Some(_)) => {
                            return Err(format!("pw: option '--{shown}' doesn't allow an argument"))
                        }
                        (false, None) => None,
                    };
                opts.set(short, value);
            } else if arg.len() > 1 && arg[0] == b'-' {
                let mut i = 1;
                while i < arg.len() {
                    let c = char::from(arg[i]);
                    let Some(&(short, _, takes_value)) = OPTIONS.iter().find(|(s, _, _)| *s == c)
                    else {
                        return Err(format!("pw: invalid option -- '{c}'"));
                    };
                    if !takes_value {
                        opts.set(short, None);
                        i += 1;
                        continue;
                    }
                    let value = if i + 1 < arg.len() {
                        &arg[i + 1..]
                    } else {
                        args.next()
                            .ok_or_else(|| format!("pw: option requires an argument -- '{c}'"))?
                    };
                    opts.set(short, Some(value));
                    break;
                }
            } else {
                extra.push(String::from_utf8_lossy(arg).into_owned());
            }
        }
        if !extra.is_empty() {
            return Err(format!(
                "{}: Extraneous arguments found: {}",
                Level::Error.word(),
                extra.join(" ")
            ));
        }
        Ok(opts)
    }
}

/// Where passwords are asked for.
pub trait Prompter {
    /// One password: the bytes up to a CR, LF or end of input.
    fn ask(&mut self, prompt: &str) -> Result<Vec<u8>, String>;
}

/// doveadm's way: on a terminal, a prompt on stderr and the answer read from /dev/tty with
/// echo off; otherwise one line from stdin, no prompt.
pub struct Terminal;

impl Prompter for Terminal {
    fn ask(&mut self, prompt: &str) -> Result<Vec<u8>, String> {
        if !io::stdin().is_terminal() {
            return Ok(read_line(&mut io::stdin().lock()));
        }
        let mut stderr = io::stderr();
        let _ = stderr.write_all(prompt.as_bytes());
        let _ = stderr.flush();
        let mut tty = File::open("/dev/tty").map_err(|e| {
            format!(
                "open(/dev/tty) failed: {}",
                crate::errtext::os_error_text(&e)
            )
        })?;
        let echo = EchoOff::new(&tty);
        let line = read_line(&mut tty);
        drop(echo);
        let _ = stderr.write_all(b"\n");
        Ok(line)
    }
}

/// Reads byte by byte up to CR, LF or end of input (so a second read takes the next line).
fn read_line(input: &mut dyn Read) -> Vec<u8> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while let Ok(1) = input.read(&mut byte) {
        if byte[0] == b'\n' || byte[0] == b'\r' {
            break;
        }
        line.push(byte[0]);
    }
    line
}

/// Terminal echo turned off for as long as this lives.
struct EchoOff {
    fd: i32,
    saved: Option<libc::termios>,
}

impl EchoOff {
    fn new(tty: &File) -> EchoOff {
        let fd = tty.as_raw_fd();
        // SAFETY: termios is plain data, for which all zeroes is a valid value.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: `fd` is open (borrowed from `tty`) and `saved` is a valid termios to fill.
        if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
            return EchoOff { fd, saved: None };
        }
        let mut quiet = saved;
        quiet.c_lflag &= !(libc::ECHO | libc::ECHONL);
        // SAFETY: a valid descriptor and a termios read from it.
        unsafe { libc::tcsetattr(fd, libc::TCSAFLUSH, &quiet) };
        EchoOff {
            fd,
            saved: Some(saved),
        }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            // SAFETY: the descriptor is still open (the File outlives this guard).
            unsafe { libc::tcsetattr(self.fd, libc::TCSAFLUSH, saved) };
        }
    }
}

/// Runs `pw` with the process's terminal and standard streams; returns the exit code.
pub fn main(args: &[OsString]) -> u8 {
    let mut stdout = io::stdout().lock();
    let mut stderr = io::stderr().lock();
    match PwOptions::parse(args) {
        Ok(opts) => run(&opts, &mut Terminal, &mut stdout, &mut stderr),
        Err(line) => {
            let _ = writeln!(stderr, "{line}");
            EXIT_USAGE
        }
    }
}

fn fatal(stderr: &mut dyn Write, message: &str) -> u8 {
    let _ = writeln!(stderr, "{}: {message}", Level::Fatal.word());
    EXIT_FATAL
}

/// Runs `pw` as `opts` say.
pub fn run(
    opts: &PwOptions,
    prompter: &mut dyn Prompter,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    if opts.list {
        let mut line = String::new();
        for name in scheme_names() {
            line.push_str(name);
            line.push(' ');
        }
        let _ = writeln!(stdout, "{line}");
        return 0;
    }
    let rounds = match opts.rounds {
        None => 0,
        // doveadm would wrap a negative count into a huge cost; refuse it instead.
        Some(r) => match u32::try_from(r) {
            Ok(r) => r,
            Err(_) => return fatal(stderr, &format!("Invalid number of rounds: {r}")),
        },
    };
    let scheme = opts
        .scheme
        .as_deref()
        .unwrap_or(DEFAULT_SCHEME)
        .to_ascii_uppercase();
    let params = Params {
        user: opts.user.as_deref(),
        rounds,
    };

    let mut plaintext = opts.plaintext.clone();
    if opts.test_hash.is_some() && plaintext.is_none() {
        match prompter.ask("Enter password to verify: ") {
            Ok(p) => plaintext = Some(p),
            Err(e) => return fatal(stderr, &e),
        }
    }
    let mut lives = LIVES;
    let plaintext = loop {
        if let Some(p) = plaintext.take() {
            break p;
        }
        let asked = prompter
            .ask("Enter new password: ")
            .and_then(|first| Ok((first, prompter.ask("Retype new password: ")?)));
        match asked {
            Ok((first, second)) if first == second => plaintext = Some(first),
            Ok(_) => {
                let _ = writeln!(stderr, "{}: Passwords don't match!", Level::Error.word());
                lives -= 1;
                if lives == 0 {
                    return EXIT_MISMATCH;
                }
            }
            Err(e) => return fatal(stderr, &e),
        }
    };

    let generated = match generate_encoded(&scheme, &plaintext, params) {
        Ok(hash) => hash,
        Err(SchemeError::UnknownScheme(_)) => {
            return fatal(stderr, &format!("Unknown scheme: {scheme}"))
        }
        Err(e) => return fatal(stderr, &e.to_string()),
    };
    if !opts.reverse_verify && opts.test_hash.is_none() {
        let mut line = format!("{{{scheme}}}").into_bytes();
        line.extend_from_slice(&generated);
        line.push(b'\n');
        let _ = stdout.write_all(&line);
        return 0;
    }

    let stored = match &opts.test_hash {
        Some(test) => match StoredPassword::parse_prefixed(test) {
            Some(stored) => stored,
            None => return fatal(stderr, "Missing {scheme} prefix from hash"),
        },
        None => StoredPassword {
            scheme: scheme.as_str().into(),
            data: &generated,
        },
    };
    let (found, raw) = match stored.decode() {
        Ok(decoded) => decoded,
        Err(e) => {
            return fatal(
                stderr,
                &format!("reverse decode check failed: {}", e.reason()),
            )
        }
    };
    let reason = match verify_raw(found, &plaintext, &raw, params.user) {
        Ok(true) => {
            let mut line = format!("{{{}}}", stored.scheme_name()).into_bytes();
            line.extend_from_slice(stored.data());
            line.extend_from_slice(b" (verified)\n");
            let _ = stdout.write_all(&line);
            return 0;
        }
        Ok(false) => "Password mismatch".into(),
        Err(e) => e.reason().into_owned(),
    };
    fatal(
        stderr,
        &format!("reverse password verification check failed: {reason}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    /// Answers prompts from a script and records them.
    struct Script {
        answers: Vec<&'static str>,
        prompts: Vec<String>,
    }

    impl Prompter for Script {
        fn ask(&mut self, prompt: &str) -> Result<Vec<u8>, String> {
            self.prompts.push(prompt.to_string());
            if self.answers.is_empty() {
                return Ok(Vec::new());
            }
            Ok(self.answers.remove(0).as_bytes().to_vec())
        }
    }

    /// (exit code, stdout, stderr, prompts)
    fn pw(line: &[&str], answers: &[&'static str]) -> (u8, String, String, Vec<String>) {
        let mut script = Script {
            answers: answers.to_vec(),
            prompts: Vec::new(),
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = match PwOptions::parse(&args(line)) {
            Ok(opts) => run(&opts, &mut script, &mut out, &mut err),
            Err(e) => {
                err.extend_from_slice(e.as_bytes());
                EXIT_USAGE
            }
        };
        (
            code,
            String::from_utf8_lossy(&out).into_owned(),
            String::from_utf8_lossy(&err).into_owned(),
            script.prompts,
        )
    }

    #[test]
    fn option_forms() {
        let o = PwOptions::parse(&args(&[
            "-s",
            "sha",
            "-psecret",
            "-lV",
            "--user=bob",
            "--rounds",
            "7",
        ]))
        .unwrap();
        assert_eq!(o.scheme.as_deref(), Some("sha"));
        assert_eq!(o.plaintext.as_deref(), Some(&b"secret"[..]));
        assert!(o.list && o.reverse_verify);
        assert_eq!(o.user.as_deref(), Some("bob"));
        assert_eq!(o.rounds, Some(7));
        assert_eq!(
            PwOptions::parse(&args(&["-r", "abc"])).unwrap().rounds,
            None
        );
        assert_eq!(
            PwOptions::parse(&args(&["-x"])),
            Err("pw: invalid option -- 'x'".into())
        );
        assert_eq!(
            PwOptions::parse(&args(&["-s"])),
            Err("pw: option requires an argument -- 's'".into())
        );
        assert_eq!(
            PwOptions::parse(&args(&["extra"])),
            Err("Error: Extraneous arguments found: extra".into())
        );
        assert_eq!(
            PwOptions::parse(&args(&["--frob"])),
            Err("pw: unrecognized option '--frob'".into())
        );
        assert_eq!(
            PwOptions::parse(&args(&["--", "-p"])),
            Err("Error: Extraneous arguments found: -p".into())
        );
    }

    #[test]
    fn generate_and_verify() {
        let (code, out, _, _) = pw(&["-s", "sha", "-p", "secret"], &[]);
        assert_eq!(
            (code, out.as_str()),
            (0, "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n")
        );
        let (code, out, _, _) = pw(&["-s", "sha.hex", "-p", "secret", "-V"], &[]);
        assert_eq!(
            (code, out.as_str()),
            (
                0,
                "{SHA.HEX}e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4 (verified)\n"
            )
        );
        let (code, out, _, _) = pw(&["-t", "{PLAIN}secret", "-p", "secret"], &[]);
        assert_eq!((code, out.as_str()), (0, "{PLAIN}secret (verified)\n"));
        let (code, out, _, _) = pw(
            &["-t", "$1$saltsalt$9xy1btjgzLYfb7hivXtC//$x", "-p", "secret"],
            &[],
        );
        assert_eq!(
            (code, out.as_str()),
            (
                0,
                "{MD5-CRYPT}$1$saltsalt$9xy1btjgzLYfb7hivXtC// (verified)\n"
            )
        );
        let (code, out, _, _) = pw(&["-p", "x", "-r", "4"], &[]);
        assert_eq!(code, 0);
        assert!(out.starts_with("{CRYPT}$2y$04$"), "{out}");
    }

    #[test]
    fn failures_as_doveadm() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["-t", "{PLAIN}secret", "-p", "wrong"],
                "Fatal: reverse password verification check failed: Password mismatch\n",
            ),
            (
                &["-t", "secret", "-p", "secret"],
                "Fatal: Missing {scheme} prefix from hash\n",
            ),
            (
                &["-t", "{FOO}x", "-p", "x"],
                "Fatal: reverse decode check failed: Unknown scheme\n",
            ),
            (
                &["-t", "{SHA}abcd", "-p", "x"],
                "Fatal: reverse decode check failed: Input length isn't valid (3 instead of 20)\n",
            ),
            (
                &["-t", "{SSHA}abcd", "-p", "x"],
                "Fatal: reverse password verification check failed: SSHA password is too short\n",
            ),
            (
                &["-s", "plain.foo", "-p", "x"],
                "Fatal: Unknown scheme: PLAIN.FOO\n",
            ),
            (
                &["-s", "sha", "-p", "x", "-r", "5000000000"],
                "Fatal: Invalid number of rounds: 5000000000\n",
            ),
        ];
        for (line, expected) in cases {
            let (code, out, err, _) = pw(line, &[]);
            assert_eq!(
                (code, out.as_str(), err.as_str()),
                (EXIT_FATAL, "", *expected),
                "{line:?}"
            );
        }
    }

    #[test]
    fn prompts() {
        let (code, out, err, prompts) = pw(&["-s", "plain"], &["a", "b", "c", "c"]);
        assert_eq!((code, out.as_str()), (0, "{PLAIN}c\n"));
        assert_eq!(err, "Error: Passwords don't match!\n");
        assert_eq!(prompts.len(), 4);
        assert_eq!(prompts[0], "Enter new password: ");
        assert_eq!(prompts[1], "Retype new password: ");
        let (code, out, err, _) = pw(&["-s", "plain"], &["a", "b", "c", "d", "e", "f"]);
        assert_eq!((code, out.as_str()), (EXIT_MISMATCH, ""));
        assert_eq!(err.lines().count(), 3);
        let (code, out, _, prompts) = pw(&["-t", "{PLAIN}x"], &["x"]);
        assert_eq!((code, out.as_str()), (0, "{PLAIN}x (verified)\n"));
        assert_eq!(prompts, vec!["Enter password to verify: ".to_string()]);
        let mut input: &[u8] = b"one\r\ntwo";
        assert_eq!(read_line(&mut input), b"one");
        assert_eq!(read_line(&mut input), b"");
        assert_eq!(read_line(&mut input), b"two");
    }

    #[test]
    fn list() {
        let (code, out, _, _) = pw(&["-l"], &[]);
        assert_eq!(code, 0);
        assert!(
            out.starts_with("SHA1 SSHA512 ") && out.ends_with("LDAP-MD5 \n"),
            "{out}"
        );
    }
}
