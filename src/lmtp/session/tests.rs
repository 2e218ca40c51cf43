//! The session against a fake deliverer: replies, recipients, DATA and BDAT.

use super::*;

/// Knows alice and bob; bob's mailbox fails temporarily; `broken` makes lookups fail.
#[derive(Default)]
struct Fake {
    saved: Vec<(String, Vec<u8>)>,
}

impl Deliverer for Fake {
    type Claim = ();
    fn lookup(&mut self, user: &str) -> Lookup<()> {
        match user {
            "alice" | "bob" => Lookup::Found(()),
            "busy" => Lookup::TooManyDeliveries,
            "broken" => Lookup::TempFail,
            _ => Lookup::NotFound,
        }
    }
    fn message_buffer(&mut self) -> MessageBuffer {
        MessageBuffer::new(&std::env::temp_dir(), "lmtp")
    }
    fn deliver(&mut self, rcpt: &Recipient, message: &[u8]) -> Delivered {
        if rcpt.user == "bob" {
            return Delivered::TempFail {
                text: "Mailbox is locked".into(),
                internal: false,
            };
        }
        self.saved.push((rcpt.user.clone(), message.to_vec()));
        Delivered::Saved
    }
}

fn converse(input: &str, deliverer: &mut Fake) -> Vec<String> {
    let settings = LmtpSettings {
        hostname: "mx".into(),
        login_greeting: "ready.".into(),
        recipient_delimiter: "+".into(),
        lmtp_add_received_header: false,
        lmtp_hdr_delivery_address: HdrDeliveryAddress::Final,
        trusted_networks: Vec::new(),
    };
    let peer = Peer {
        ip: None,
        name: "local".into(),
    };
    let mut out = Vec::new();
    serve_lmtp(
        input.as_bytes(),
        &mut out,
        &settings,
        &peer,
        deliverer,
        &mut NoTls,
    );
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn one_reply_per_recipient_and_failures_stay_with_theirs() {
    let mut fake = Fake::default();
    let out = converse(
        "LHLO x\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice+box>\r\nRCPT TO:<broken>\r\n\
         RCPT TO:<bob>\r\nRCPT TO:<carol>\r\nDATA\r\nSubject: t\r\n\r\n..a\r\n.\r\nQUIT\r\n",
        &mut fake,
    );
    assert_eq!(out[0], "220 mx ready.");
    assert_eq!(
        out[1..6],
        [
            "250-mx",
            "250-8BITMIME",
            "250-CHUNKING",
            "250-ENHANCEDSTATUSCODES",
            "250 PIPELINING"
        ]
    );
    assert_eq!(
        out[6..10],
        [
            "250 2.1.0 OK",
            "250 2.1.5 OK",
            "451 4.3.0 <broken> Temporary internal error",
            "250 2.1.5 OK",
        ]
    );
    assert_eq!(out[10], "550 5.1.1 <carol> User doesn't exist: carol");
    assert_eq!(out[11], "354 OK");
    assert!(
        out[12].starts_with("250 2.0.0 <alice+box> ") && out[12].ends_with(" Saved"),
        "{out:?}"
    );
    assert_eq!(out[13], "451 4.2.0 <bob> Mailbox is locked");
    assert_eq!(out[14], "221 2.0.0 Bye");
    assert_eq!(fake.saved.len(), 1);
    assert_eq!(fake.saved[0].0, "alice");
    assert_eq!(
        fake.saved[0].1,
        b"Return-Path: <s@x>\nSubject: t\n\n.a\n".to_vec()
    );
}

#[test]
fn nothing_is_delivered_without_the_final_dot() {
    let mut fake = Fake::default();
    let out = converse(
        "LHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<alice>\r\nDATA\r\nSubject: t\r\n\r\nhalf",
        &mut fake,
    );
    assert_eq!(out.last().map(String::as_str), Some("354 OK"));
    assert!(fake.saved.is_empty());
}

#[test]
fn session_ids_count_every_rcpt() {
    let mut fake = Fake::default();
    let out = converse(
        "MAIL FROM:<>\r\nRCPT TO:<carol>\r\nRCPT TO:<alice>\r\nDATA\r\nx\r\n.\r\n",
        &mut fake,
    );
    assert!(out[5].contains(":R2 Saved"), "{out:?}");
}

#[test]
fn bdat_chunks_make_one_message() {
    let mut fake = Fake::default();
    let out = converse(
        "MAIL FROM:<s@x>\r\nRCPT TO:<alice>\r\nRCPT TO:<busy>\r\n\
         BDAT 12\r\nSubject: a\r\nBDAT 9 LAST\r\n\r\n.body\r\nDATA\r\n",
        &mut fake,
    );
    assert_eq!(
        out[3],
        "451 4.3.0 <busy> Too many concurrent deliveries for user"
    );
    assert_eq!(out[4], "250 2.0.0 Added 12 octets");
    assert!(out[5].starts_with("250 2.0.0 <alice> "), "{out:?}");
    assert_eq!(out[6], "503 5.5.0 MAIL needed first");
    assert_eq!(
        fake.saved[0].1,
        b"Return-Path: <s@x>\nDelivered-To: alice\nSubject: a\r\n\r\n.body\r\n".to_vec()
    );
}

#[test]
fn a_failed_chunk_refuses_data_until_rset() {
    let mut fake = Fake::default();
    let out = converse(
        "BDAT 3\r\nMAIL FROM:<s@x>\r\nBDAT x\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice>\r\n\
         BDAT 1 LAST\r\nxDATA\r\nBDAT 2 LAST more\r\nabRSET\r\nMAIL FROM:<>\r\n\
         RCPT TO:<alice>\r\nBDAT 0 LAST\r\n",
        &mut fake,
    );
    assert_eq!(
        out[1..],
        [
            "503 5.5.0 MAIL needed first",
            "500 5.5.1 Unknown command",
            "501 5.5.4 Invalid chunk size parameter",
            "250 2.1.0 OK",
            "250 2.1.5 OK",
            "503 5.5.0 Previous data chunk failed, issue RSET first",
            "503 5.5.0 Previous data chunk failed, issue RSET first",
            "501 5.5.4 Invalid parameters",
            "250 2.0.0 OK",
            "250 2.1.0 OK",
            "250 2.1.5 OK",
            out[12].as_str(),
        ]
    );
    assert!(out[12].starts_with("250 2.0.0 <alice> "), "{out:?}");
    assert_eq!(fake.saved.len(), 1);
}

#[test]
fn orcpt_parameters() {
    let mut fake = Fake::default();
    let out = converse(
        "MAIL FROM:<>\r\nRCPT TO:<alice> ORCPT=rfc822;a+40b\r\n\
         RCPT TO:<alice> ORCPT=rfc822;a ORCPT=rfc822;b\r\nRCPT TO:<alice> ORCPT\r\n\
         RCPT TO:<alice> NOTIFY=NEVER\r\n",
        &mut fake,
    );
    assert_eq!(
        out[1..],
        [
            "250 2.1.0 OK",
            "250 2.1.5 OK",
            "501 5.5.4 Duplicate ORCPT= parameter",
            "501 5.5.4 Missing ORCPT= parameter value",
            "555 5.5.4 Unsupported parameters",
        ]
    );
}

#[test]
fn large_messages_are_spooled_and_arrive_whole() {
    let mut fake = Fake::default();
    let line = "x".repeat(999);
    let body: String = (0..300).map(|_| format!("{line}\r\n")).collect();
    let out = converse(
        &format!("MAIL FROM:<>\r\nRCPT TO:<alice>\r\nDATA\r\n{body}.\r\n"),
        &mut fake,
    );
    assert!(out[4].starts_with("250 2.0.0 <alice> "), "{out:?}");
    let saved = &fake.saved[0].1;
    let headers = "Return-Path: <>\nDelivered-To: alice\n";
    assert_eq!(saved.len(), headers.len() + 300 * 1000);
    assert!(saved.ends_with(format!("{line}\n").as_bytes()));
}

#[test]
fn transaction_ids_number_the_sessions_transactions() {
    let mut fake = Fake::default();
    let out = converse(
        "MAIL FROM:<>\r\nRCPT TO:<alice>\r\nRCPT TO:<alice>\r\nDATA\r\nx\r\n.\r\n\
         MAIL FROM:<>\r\nRSET\r\nMAIL FROM:<>\r\nRCPT TO:<alice>\r\nDATA\r\nx\r\n.\r\n",
        &mut fake,
    );
    let id = |line: &str| line.split(' ').nth(3).unwrap_or_default().to_string();
    let first = id(&out[5]);
    assert_eq!(first.len(), 22, "{out:?}");
    // The same user twice: the first delivery's answer.
    assert_eq!(out[6], out[5]);
    assert_eq!(id(&out[12]), format!("{first}:T3"), "{out:?}");
}
