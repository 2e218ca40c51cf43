//! Hostile input before login: floods of bad AUTHENTICATE lines, oversized and invalid
//! base64, aborted exchanges. Each gets its answer, and the server stays healthy (a normal
//! login works afterwards).

mod login_support;

use login_support::{Client, Server};

fn healthy(server: &Server) {
    let mut c = Client::connect(server.imap);
    assert!(c.line().starts_with("* OK "));
    c.send(b"z LOGIN alice secret\r\nz2 LOGOUT\r\n");
    assert!(c.line().starts_with("z OK [CAPABILITY "));
    assert_eq!(c.line(), "* BYE Logging out");
}

#[test]
fn ten_thousand_bad_authenticate_lines() {
    let server = Server::start("");
    let mut c = Client::connect(server.imap);
    c.line();
    let flood = b"a AUTHENTICATE PLAIN !!!\r\n".repeat(10_000);
    let writer = {
        let mut stream = c.stream.try_clone().unwrap();
        std::thread::spawn(move || std::io::Write::write_all(&mut stream, &flood))
    };
    for i in 0..10_000 {
        let line = c.line();
        assert_eq!(
            line, "a BAD Invalid base64 data in initial response",
            "answer {i}"
        );
    }
    writer.join().unwrap().unwrap();
    c.send(b"b NOOP\r\n");
    assert_eq!(c.line(), "b OK NOOP completed.");
    healthy(&server);
}

#[test]
fn aborted_and_invalid_exchanges() {
    let server = Server::start("");
    let mut c = Client::connect(server.imap);
    c.line();
    for i in 0..1000 {
        c.send(b"a AUTHENTICATE PLAIN\r\n");
        assert_eq!(c.line(), "+ ", "challenge {i}");
        c.send(b"*\r\n");
        assert_eq!(
            c.line(),
            "a BAD Authentication aborted by client.",
            "abort {i}"
        );
    }
    for i in 0..100 {
        c.send(b"b AUTHENTICATE LOGIN\r\n");
        assert_eq!(c.line(), "+ VXNlcm5hbWU6", "challenge {i}");
        c.send(b"not*base64\r\n");
        assert_eq!(
            c.line(),
            "b NO [ALERT] Invalid base64 in response",
            "answer {i}"
        );
    }
    c.send(b"c NOOP\r\n");
    assert_eq!(c.line(), "c OK NOOP completed.");
    healthy(&server);
}

#[test]
fn oversized_responses_end_the_connection() {
    let server = Server::start("");
    // An initial response over 8 KiB: Dovecot closes without a word.
    let mut c = Client::connect(server.imap);
    c.line();
    let mut big = b"a AUTHENTICATE PLAIN ".to_vec();
    big.extend(std::iter::repeat_n(b'A', 9000));
    big.extend_from_slice(b"\r\n");
    c.send(&big);
    assert!(c.closed());
    assert_eq!(c.line(), "");
    // A continued response over 8 KiB: the same.
    let mut c = Client::connect(server.imap);
    c.line();
    c.send(b"a AUTHENTICATE PLAIN\r\n");
    assert_eq!(c.line(), "+ ");
    let mut big = vec![b'A'; 20_000];
    big.extend_from_slice(b"\r\n");
    c.send(&big);
    assert_eq!(c.line(), "");
    server.wait_log("Disconnected: Authentication response too large");
    healthy(&server);
}
