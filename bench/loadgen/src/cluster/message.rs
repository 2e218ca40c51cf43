//! The messages of a cluster run: each carries its token in the Message-ID, so the checker
//! reads it back from ENVELOPE (no literals) and POP3 from the header line.

use crate::corpus::Rng;

const DOMAIN: &str = "cluster.test";

/// A message for `token` (CRLF, 0.3–4 KB of body).
pub fn message(token: &str, user: &str, rng: &mut Rng) -> Vec<u8> {
    let mut text = format!(
        "Message-ID: <{token}@{DOMAIN}>\r\nFrom: Load <load@{DOMAIN}>\r\nTo: <{user}@{DOMAIN}>\r\n\
         Subject: cluster {token}\r\nDate: Sat, 28 Nov 2026 12:00:00 +0000\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
    );
    let lines = 4 + rng.below(60);
    for n in 0..lines {
        text.push_str(&format!(
            "line {n} of {token}: shared disks, two nodes, one store\r\n"
        ));
    }
    text.into_bytes()
}

/// The token in a line holding `<token@cluster.test>` (an ENVELOPE, a Message-ID header).
pub fn token_in(text: &str) -> Option<&str> {
    let end = text.find(&format!("@{DOMAIN}>"))?;
    let start = text[..end].rfind('<')? + 1;
    let token = &text[start..end];
    (!token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    .then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_back() {
        let mut rng = Rng::new(3);
        let msg = message("w3m17", "u1", &mut rng);
        let text = String::from_utf8(msg).unwrap();
        assert_eq!(token_in(&text), Some("w3m17"));
        let envelope = r#"* 1 FETCH (UID 4 FLAGS (\Seen) ENVELOPE ("Sat, 28 Nov 2026" "cluster w3m17" NIL NIL NIL NIL NIL NIL NIL "<w3m17@cluster.test>"))"#;
        assert_eq!(token_in(envelope), Some("w3m17"));
        assert_eq!(token_in("<@cluster.test>"), None);
        assert_eq!(token_in("no token"), None);
    }
}
