//! The imap-urlauth service: how an IMAP session fetches another user's URLAUTH URL. As in
//! Dovecot 2.3, the session connects to the `imap-urlauth` socket under base_dir (service
//! `imap-urlauth-login`), which passes the connection on through `token-login/imap-urlauth`
//! (service `imap-urlauth`) to `imap-urlauth-worker`; the worker becomes the URL's owner,
//! opens the owner's mail and answers over the same connection. The relays and the worker's
//! process side are in the `cote` binary; this module is the conversation itself.
//!
//! The conversation is cote's own (nothing else speaks it), lockstep, one line per request
//! or answer (TAB-separated, fields TAB-escaped, at most [`MAX_LINE`] bytes):
//!
//! ```text
//! -> ACCESS <user> <token>        <- OK | NO
//! -> USER <owner>                 <- OK | NO
//! -> URL <form> <n> LF <n bytes of URL>
//!                                 <- OK <n> LF <n bytes: the answer after `* URLFETCH url `>
//!                                  | NO [<text for `* NO`>]
//! -> END
//! ```
//!
//! `token` proves who is asking: [`access_token`] of the user under a secret only root (or,
//! when cote does not run as root, its one user) can read; the session computes it before
//! it gives up root. `form` is `plain` or `x` followed by `s` (BODYPARTSTRUCTURE), `b`
//! (BINARY) and `d` (BODY) for the extended form. A worker serves one asking session and one
//! owner, then ends (Dovecot's `service_count = 1`).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::auth::fields::{tab_escape, tab_unescape};
use crate::auth::scheme::{constant_time_eq, hex_encode};
use crate::imap::mail_session::MailSession;
use crate::imap::parser::urlauth::FetchParams;
use crate::imap::urlauth::{self as ua, UrlAuthContext};
use crate::imap::urlauth_fetch::{fetch_owned, printable, Fetched};

/// Dovecot's `IMAP_URLAUTH_SOCKET_NAME`, under base_dir.
pub const SOCKET_NAME: &str = "imap-urlauth";
/// The longest line either side sends (a URL is at most an IMAP command line).
pub const MAX_LINE: usize = 65536;
/// The largest answer the session takes from a worker.
pub const MAX_ANSWER: usize = 1 << 30;
/// How long either side waits for the other's next line or data.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// The proof that a session is `user`'s: HMAC-SHA256 of the user name under `secret`.
pub fn access_token(secret: &[u8], user: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(b"cote imap-urlauth access\0");
    mac.update(user.as_bytes());
    hex_encode(&mac.finalize().into_bytes())
}

/// Whether `token` is `user`'s (constant time).
pub fn token_valid(secret: &[u8], user: &str, token: &str) -> bool {
    constant_time_eq(access_token(secret, user).as_bytes(), token.as_bytes())
}

/// Reads one line (without its LF); `None` at EOF. A line longer than `MAX_LINE` or not
/// UTF-8 is an error.
fn read_line(reader: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    let n = reader
        .by_ref()
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if line.pop() != Some(b'\n') {
        return Err(invalid("line too long or cut off"));
    }
    String::from_utf8(line)
        .map(Some)
        .map_err(|_| invalid("line is not UTF-8"))
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// Reads exactly `n` bytes (`n` checked by the caller).
fn read_data(reader: &mut impl Read, n: usize) -> io::Result<Vec<u8>> {
    let mut data = Vec::new();
    reader.take(n as u64).read_to_end(&mut data)?;
    if data.len() != n {
        return Err(invalid("connection closed in the data"));
    }
    Ok(data)
}

fn encode_form(extended: Option<FetchParams>) -> String {
    match extended {
        None => "plain".into(),
        Some(p) => {
            let mut form = String::from("x");
            for (on, letter) in [(p.body_part_structure, 's'), (p.binary, 'b'), (p.body, 'd')] {
                if on {
                    form.push(letter);
                }
            }
            form
        }
    }
}

fn decode_form(form: &str) -> Option<Option<FetchParams>> {
    if form == "plain" {
        return Some(None);
    }
    let letters = form.strip_prefix('x')?;
    let mut params = FetchParams::default();
    for c in letters.chars() {
        match c {
            's' => params.body_part_structure = true,
            'b' => params.binary = true,
            'd' => params.body = true,
            _ => return None,
        }
    }
    Some(Some(params))
}

// ---- the session's side ----------------------------------------------------------------

/// Another user's URL, through the imap-urlauth service (Dovecot's
/// `imap_urlauth_fetch_url` for a remote URL). A failure of the service is logged and the
/// URL answered `NIL`, as Dovecot's imap does when its service connection fails.
pub fn fetch_remote(
    ctx: &UrlAuthContext,
    owner: &str,
    url: &str,
    extended: Option<FetchParams>,
) -> Fetched {
    let Some(service) = &ctx.service else {
        log::error!(
            "imap-urlauth: cannot authenticate because no access token is available for \
             this session"
        );
        return Fetched::Nil;
    };
    match ask(service, &ctx.user, owner, url, extended) {
        Ok(fetched) => fetched,
        Err(e) => {
            log::error!("imap-urlauth: {e} (URL {})", printable(url));
            Fetched::Nil
        }
    }
}

fn ask(
    service: &ua::ServiceAccess,
    user: &str,
    owner: &str,
    url: &str,
    extended: Option<FetchParams>,
) -> Result<Fetched, String> {
    let stream = UnixStream::connect(&service.socket).map_err(|e| {
        format!(
            "net_connect_unix({}) failed: {}",
            service.socket.display(),
            crate::errtext::os_error_text(&e)
        )
    })?;
    let io_error = |e: io::Error| format!("Service connection failed: {e}");
    stream.set_read_timeout(Some(TIMEOUT)).map_err(io_error)?;
    stream.set_write_timeout(Some(TIMEOUT)).map_err(io_error)?;
    let mut writer = stream.try_clone().map_err(io_error)?;
    let mut reader = BufReader::new(stream);
    let mut answer = |request: &[u8]| -> Result<String, String> {
        writer.write_all(request).map_err(io_error)?;
        read_line(&mut reader)
            .map_err(io_error)?
            .ok_or_else(|| "Service disconnected unexpectedly".to_string())
    };
    let line = answer(format!("ACCESS\t{}\t{}\n", tab_escape(user), service.token).as_bytes())?;
    if line != "OK" {
        return Err(format!(
            "Failed to authenticate to service: Got unexpected response: {}",
            printable(&line)
        ));
    }
    let line = answer(format!("USER\t{}\n", tab_escape(owner)).as_bytes())?;
    match line.as_str() {
        "OK" => {}
        // The owner does not exist (or cannot be served): the URL fails without a reason.
        "NO" => return Ok(Fetched::Nil),
        _ => {
            return Err(format!(
                "Failed to select target user {owner}: Got unexpected response: {}",
                printable(&line)
            ))
        }
    }
    let mut request = format!("URL\t{}\t{}\n", encode_form(extended), url.len()).into_bytes();
    request.extend_from_slice(url.as_bytes());
    let line = answer(&request)?;
    let fields: Vec<&str> = line.split('\t').collect();
    let fetched = match fields.as_slice() {
        ["NO"] => Fetched::Nil,
        ["NO", text] => Fetched::Failed {
            text: tab_unescape(text),
            told: true,
        },
        ["OK", size] => {
            let size: usize = size
                .parse()
                .ok()
                .filter(|n| *n <= MAX_ANSWER)
                .ok_or_else(|| format!("Invalid answer size: {}", printable(size)))?;
            Fetched::Data(read_data(&mut reader, size).map_err(io_error)?)
        }
        _ => return Err(format!("Unexpected URL response: {}", printable(&line))),
    };
    // The worker ends with END (or when the connection closes).
    let _ = writer.write_all(b"END\n");
    Ok(fetched)
}

// ---- the worker's side -----------------------------------------------------------------

/// What a worker needs beyond the connection.
pub struct WorkerSettings {
    /// The secret [`access_token`]s are made with.
    pub secret: Vec<u8>,
    /// `imap_urlauth_host` and `imap_urlauth_port`.
    pub host: String,
    pub port: u16,
    /// `imap_urlauth_submit_user`, `imap_urlauth_stream_user` (empty: none).
    pub submit_user: String,
    pub stream_user: String,
}

/// Opens an owner's mail for the worker (the userdb lookup, becoming the owner, the
/// storage): the owner's name as the userdb has it and the mail; `Ok(None)` when there is
/// no such user.
pub trait OwnerMail {
    type Mail: MailSession;
    fn open(
        &mut self,
        owner: &str,
        access_user: &str,
    ) -> Result<Option<(String, Self::Mail)>, String>;
}

/// Serves one asking session on `stream` (Dovecot's `imap-urlauth-worker`); what goes wrong
/// is logged.
pub fn serve_worker(stream: UnixStream, settings: WorkerSettings, owners: &mut impl OwnerMail) {
    let _ = stream.set_read_timeout(Some(TIMEOUT));
    let _ = stream.set_write_timeout(Some(TIMEOUT));
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(e) => {
            log::error!("dup() failed: {e}");
            return;
        }
    };
    let mut reader = BufReader::new(stream);
    if let Err(e) = converse(&mut reader, &mut writer, settings, owners) {
        log::error!("Client input error: {e}");
    }
}

fn converse(
    reader: &mut impl BufRead,
    writer: &mut impl Write,
    mut settings: WorkerSettings,
    owners: &mut impl OwnerMail,
) -> io::Result<()> {
    // ACCESS: who asks.
    let Some(line) = read_line(reader)? else {
        return Ok(());
    };
    let fields: Vec<&str> = line.split('\t').collect();
    let ["ACCESS", user, token] = fields.as_slice() else {
        writer.write_all(b"NO\n")?;
        return Err(invalid(&format!(
            "Invalid ACCESS command: {}",
            printable(&line.chars().take(80).collect::<String>())
        )));
    };
    let user = tab_unescape(user);
    let valid = !user.is_empty() && token_valid(&settings.secret, &user, token);
    // Not needed any more: the owner's mail is read without it.
    settings.secret.fill(0);
    if !valid {
        writer.write_all(b"NO\n")?;
        return Err(invalid(&format!(
            "Invalid access token for user {}",
            printable(&user)
        )));
    }
    let mut apps = Vec::new();
    if !settings.submit_user.is_empty() && settings.submit_user == user {
        apps.push("submit+".to_string());
    }
    if !settings.stream_user.is_empty() && settings.stream_user == user {
        apps.push("stream".to_string());
    }
    writer.write_all(b"OK\n")?;

    // USER: whose mail.
    let Some(line) = read_line(reader)? else {
        return Ok(());
    };
    let Some(owner) = line.strip_prefix("USER\t").filter(|o| !o.contains('\t')) else {
        return Err(invalid(&format!(
            "Unknown or inappropriate command: {}",
            printable(line.split('\t').next().unwrap_or_default())
        )));
    };
    let owner = tab_unescape(owner);
    if settings.host.is_empty() {
        log::error!("imap_urlauth_host setting is not configured for user {owner}");
        writer.write_all(b"NO\n")?;
        return Ok(());
    }
    let (owner, mut mail) = match owners.open(&owner, &user) {
        Ok(Some(found)) => found,
        Ok(None) => {
            writer.write_all(b"NO\n")?;
            return Ok(());
        }
        Err(e) => {
            log::error!("Failed to lookup user {owner}: {e}");
            writer.write_all(b"NO\n")?;
            return Ok(());
        }
    };
    let ctx = UrlAuthContext {
        host: settings.host.clone(),
        port: settings.port,
        user,
        apps,
        service: None,
    };
    writer.write_all(b"OK\n")?;

    // URL...: the answers; END or EOF ends.
    while let Some(line) = read_line(reader)? {
        if line == "END" {
            return Ok(());
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let ["URL", form, size] = fields.as_slice() else {
            return Err(invalid(&format!(
                "Unknown or inappropriate command: {}",
                printable(fields.first().copied().unwrap_or_default())
            )));
        };
        let extended = decode_form(form).ok_or_else(|| invalid("URL: invalid form"))?;
        let size: usize = size
            .parse()
            .ok()
            .filter(|n| *n <= MAX_LINE)
            .ok_or_else(|| invalid("URL: invalid size"))?;
        let url =
            String::from_utf8(read_data(reader, size)?).map_err(|_| invalid("URL is not UTF-8"))?;
        let fetched = match ua::parse_url(&url) {
            Err(e) => Ok(Fetched::not_fetched(
                &url,
                format!("Invalid URLAUTH: {e}"),
                true,
            )),
            Ok(parsed) => fetch_owned(&mut mail, &ctx, &owner, &url, &parsed, extended),
        };
        match fetched {
            Ok(Fetched::Data(data)) => {
                writer.write_all(format!("OK\t{}\n", data.len()).as_bytes())?;
                writer.write_all(&data)?;
            }
            Ok(Fetched::Failed { text, told: true }) => {
                writer.write_all(format!("NO\t{}\n", tab_escape(&printable(&text))).as_bytes())?;
            }
            Ok(Fetched::Failed { .. } | Fetched::Nil) => writer.write_all(b"NO\n")?,
            Err(_) => {
                // Logged as it happened; Dovecot's worker aborts the session.
                writer.write_all(b"NO\n")?;
                return Ok(());
            }
        }
        writer.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_depend_on_user_and_secret() {
        let t = access_token(b"secret", "bob");
        assert_eq!(t.len(), 64);
        assert!(token_valid(b"secret", "bob", &t));
        assert!(!token_valid(b"secret", "carol", &t));
        assert!(!token_valid(b"other", "bob", &t));
        assert!(!token_valid(b"secret", "bob", &t[..63]));
    }

    #[test]
    fn forms_round_trip() {
        for form in [
            None,
            Some(FetchParams::default()),
            Some(FetchParams {
                body_part_structure: true,
                binary: true,
                body: false,
            }),
            Some(FetchParams {
                body_part_structure: true,
                binary: false,
                body: true,
            }),
        ] {
            assert_eq!(decode_form(&encode_form(form)), Some(form));
        }
        assert_eq!(decode_form("xq"), None);
        assert_eq!(decode_form(""), None);
    }

    #[test]
    fn lines_are_bounded() {
        let mut ok = &b"ACCESS\tbob\tx\nrest"[..];
        assert_eq!(
            read_line(&mut ok).unwrap().as_deref(),
            Some("ACCESS\tbob\tx")
        );
        let long = vec![b'a'; MAX_LINE + 10];
        assert!(read_line(&mut &long[..]).is_err());
        assert!(read_line(&mut &b"no newline"[..]).is_err());
        assert_eq!(read_line(&mut &b""[..]).unwrap(), None);
        assert!(read_data(&mut &b"abc"[..], 4).is_err());
    }

    /// A worker whose owner does not exist, and one asked with a wrong token.
    #[test]
    fn worker_refuses_bad_tokens_and_unknown_owners() {
        struct NoOwners;
        impl OwnerMail for NoOwners {
            type Mail = crate::imap::storage_session::StorageSession;
            fn open(&mut self, _: &str, _: &str) -> Result<Option<(String, Self::Mail)>, String> {
                Ok(None)
            }
        }
        let settings = || WorkerSettings {
            secret: b"s".to_vec(),
            host: "example.com".into(),
            port: 143,
            submit_user: String::new(),
            stream_user: String::new(),
        };
        let run = |input: String| {
            let mut out = Vec::new();
            let result = converse(&mut input.as_bytes(), &mut out, settings(), &mut NoOwners);
            (result.is_ok(), String::from_utf8(out).unwrap())
        };
        let good = access_token(b"s", "bob");
        assert_eq!(
            run(format!("ACCESS\tbob\t{good}\nUSER\talice\n")),
            (true, "OK\nNO\n".to_string())
        );
        assert_eq!(
            run(format!("ACCESS\tcarol\t{good}\nUSER\talice\n")),
            (false, "NO\n".to_string())
        );
        assert_eq!(run("HELLO\n".into()), (false, "NO\n".to_string()));
        assert_eq!(
            run(format!("ACCESS\tbob\t{good}\nURL\tplain\t3\nabc")),
            (false, "OK\n".to_string())
        );
    }
}
