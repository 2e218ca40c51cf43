//! Delivering one message into a user's mailbox, the same for LMTP and the LDA (Dovecot's
//! `mail_deliver`): the wanted mailbox if it exists (created first with
//! `lda_mailbox_autocreate`), else INBOX; saved through the storage API, which returns only
//! once the message is durable (per `mail_fsync`).

use crate::storage::api::{MailFlags, NewMessage, OpenOptions};
use crate::storage::error::StorageResult;
use crate::storage::user::MailUser;

/// Saves `message` into `mailbox` of `user` (or INBOX, see the module); returns the mailbox
/// it went to. Logs Dovecot's `msgid=<...>: saved mail to <mailbox>` line.
pub fn deliver(
    user: &mut MailUser,
    mailbox: &str,
    autocreate: bool,
    message: &[u8],
) -> StorageResult<String> {
    let mut name = mailbox;
    if !mailbox.eq_ignore_ascii_case("INBOX") {
        match user
            .list_for(mailbox)
            .and_then(|(list, inner)| list.exists(&inner))
        {
            Ok(true) => {}
            Ok(false) if autocreate => {
                if let Err(e) = user.create(mailbox) {
                    log::info!(
                        "Failed to autocreate mailbox {mailbox}: {}",
                        e.client_text()
                    );
                    name = "INBOX";
                }
            }
            Ok(false) | Err(_) => name = "INBOX",
        }
    }
    let mut target = user.open(name, OpenOptions::ACCESS)?;
    let new = NewMessage {
        data: message,
        flags: MailFlags::empty(),
        keywords: Vec::new(),
        internal_date: None,
    };
    target.save(&[new], false)?;
    log::info!("msgid={}: saved mail to {name}", message_id(message));
    Ok(name.to_string())
}

/// The Message-ID for log lines (`unspecified` without one).
fn message_id(message: &[u8]) -> String {
    // Only the header is needed: up to the first empty line.
    let end = message
        .windows(2)
        .position(|w| w == b"\n\n")
        .map_or(message.len(), |at| at + 1);
    let parsed = crate::mail::Message::parse(message[..end].to_vec());
    parsed
        .header_fields()
        .into_iter()
        .find(|f| f.is("Message-ID"))
        .map(|f| {
            String::from_utf8_lossy(&f.value_oneline())
                .trim()
                .to_string()
        })
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unspecified".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids() {
        assert_eq!(
            message_id(b"Subject: x\nMessage-ID: <a@b>\n\nMessage-ID: <body@x>\n"),
            "<a@b>"
        );
        assert_eq!(message_id(b"Subject: x\n\nbody\n"), "unspecified");
    }
}
