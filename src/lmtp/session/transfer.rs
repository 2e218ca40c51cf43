//! The message of a transaction: DATA and BDAT (CHUNKING) received into a spooling buffer
//! with the added headers first, then delivered to each recipient in order.

use std::io::{Read, Write};

use super::super::data::{read_chunk, read_dot_data, Refusal, WRITE_FAILED};
use super::super::message::{added_headers, received_header, DeliveryHeaders};
use super::{
    read_failed, Delivered, Deliverer, End, Route, Session, Transaction, MAX_MESSAGE_SIZE,
};
use crate::delivery::MessageBuffer;

impl<R: Read, W: Write, D: Deliverer> Session<'_, R, W, D> {
    pub(super) fn data(&mut self, rest: &[u8]) -> Result<(), End> {
        if !rest.is_empty() {
            return self.line("501 5.5.4 Invalid parameters");
        }
        if self.chunk_failed {
            return self.line("503 5.5.0 Previous data chunk failed, issue RSET first");
        }
        let Some(mut transaction) = self.transaction.take() else {
            return self.line("503 5.5.0 MAIL needed first");
        };
        if transaction.chunks.is_some() {
            self.transaction = Some(transaction);
            return self.line("503 5.5.0 Bad sequence of commands");
        }
        if transaction.recipients.is_empty() {
            self.transaction = Some(transaction);
            return self.line("503 5.5.0 No valid recipients");
        }
        self.line("354 OK")?;
        self.flush()?;
        let mut buffer = self.new_message(&mut transaction);
        let refused = match buffer.as_mut() {
            Ok(b) => read_dot_data(&mut self.reader, Some(b), MAX_MESSAGE_SIZE),
            Err(()) => read_dot_data(&mut self.reader, None, MAX_MESSAGE_SIZE)
                .map(|r| r.or(Some(WRITE_FAILED))),
        }
        .map_err(read_failed)?;
        self.finish_message(&mut transaction, buffer, refused)
    }

    /// BDAT (RFC 3030): `BDAT <size> [LAST]`, then exactly `size` bytes, taken as they are.
    /// A chunk's bytes are read even when the command is refused; once a chunk failed, BDAT
    /// and DATA are refused until RSET, as Dovecot does.
    pub(super) fn bdat(&mut self, rest: &[u8]) -> Result<(), End> {
        let text = String::from_utf8_lossy(rest);
        let mut words = text.split(' ');
        let size = words
            .next()
            .filter(|w| !w.is_empty() && w.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|w| w.parse::<u64>().ok());
        let Some(size) = size else {
            return self.line("501 5.5.4 Invalid chunk size parameter");
        };
        let last = match words.next() {
            None => false,
            Some(w) if w.eq_ignore_ascii_case("LAST") => true,
            Some(_) => {
                self.skip_chunk(size)?;
                self.chunk_failed = true;
                return self.line("501 5.5.4 Invalid parameters");
            }
        };
        if words.next().is_some() {
            self.skip_chunk(size)?;
            self.chunk_failed = true;
            return self.line("501 5.5.4 Invalid parameters");
        }
        let refusal = if self.chunk_failed {
            Some("503 5.5.0 Previous data chunk failed, issue RSET first")
        } else {
            match &self.transaction {
                None => Some("503 5.5.0 MAIL needed first"),
                Some(t) if t.recipients.is_empty() => Some("503 5.5.0 No valid recipients"),
                Some(_) => None,
            }
        };
        if let Some(reply) = refusal {
            self.skip_chunk(size)?;
            self.chunk_failed = true;
            return self.line(reply);
        }
        let Some(mut transaction) = self.transaction.take() else {
            return self.line("503 5.5.0 MAIL needed first");
        };
        if transaction.chunks.is_none() {
            match self.new_message(&mut transaction) {
                Ok(buffer) => transaction.chunks = Some(buffer),
                Err(()) => {
                    self.transaction = Some(transaction);
                    self.skip_chunk(size)?;
                    self.chunk_failed = true;
                    return self.line("451 4.3.0 Temporary internal failure");
                }
            }
        }
        let refused = read_chunk(
            &mut self.reader,
            size,
            transaction.chunks.as_mut(),
            MAX_MESSAGE_SIZE,
        )
        .map_err(read_failed)?;
        if !last {
            self.transaction = Some(transaction);
            if let Some(r) = refused {
                self.chunk_failed = true;
                return self.line(&format!("{} {}", r.code, r.text));
            }
            return self.line(&format!("250 2.0.0 Added {size} octets"));
        }
        let buffer = transaction.chunks.take().ok_or(());
        self.finish_message(&mut transaction, buffer, refused)
    }

    fn skip_chunk(&mut self, size: u64) -> Result<(), End> {
        read_chunk(&mut self.reader, size, None, MAX_MESSAGE_SIZE)
            .map(|_| ())
            .map_err(read_failed)
    }

    /// A buffer for the transaction's message with the added headers written first (they are
    /// the same for every recipient: `Delivered-To` only appears with a single one).
    /// `Err(())`: the spool failed (logged).
    fn new_message(
        &mut self,
        transaction: &mut Transaction<D::Claim>,
    ) -> Result<MessageBuffer, ()> {
        let single = match transaction.recipients.as_slice() {
            [(rcpt, _)] => Some(rcpt),
            _ => None,
        };
        let tls = self.tls.description();
        let delivery = DeliveryHeaders {
            from: transaction.from.as_ref(),
            rcpt: single.map(|r| &r.address),
            orcpt: single.and_then(|r| r.orcpt.as_ref()),
            hdr_delivery_address: self.settings.lmtp_hdr_delivery_address,
            received: self.settings.lmtp_add_received_header,
            helo: self.helo.as_deref(),
            peer_ip: self.peer.ip,
            tls: tls.as_deref(),
            hostname: &self.settings.hostname,
            id: &transaction.id,
            time: crate::localtime::now(),
        };
        let headers = added_headers(&delivery);
        let proxy_headers = received_header(&delivery);
        transaction.local_headers = headers.len();
        transaction.proxy_headers = proxy_headers;
        let mut buffer = self.deliverer.message_buffer();
        match buffer.write(headers.as_bytes()) {
            Ok(()) => Ok(buffer),
            Err(e) => {
                log::error!("{e}");
                Err(())
            }
        }
    }

    /// The end of the message (DATA's dot, the last BDAT): delivered to each recipient, or
    /// refused for all of them; the transaction is over either way.
    fn finish_message(
        &mut self,
        transaction: &mut Transaction<D::Claim>,
        buffer: Result<MessageBuffer, ()>,
        refused: Option<Refusal>,
    ) -> Result<(), End> {
        self.rcpt_seq = 0;
        let message = match (buffer, refused) {
            (Ok(buffer), None) => buffer.finish().map_err(|e| log::error!("{e}")),
            _ => Err(()),
        };
        let message = match message {
            Ok(m) => m,
            Err(()) => {
                let r = refused.unwrap_or(WRITE_FAILED);
                self.proxy.finish();
                for (rcpt, _) in &transaction.recipients {
                    let line = format!("{} <{}> {}", r.code, rcpt.address.encode(), r.text);
                    self.line(&line)?;
                }
                return Ok(());
            }
        };
        self.deliver_all(transaction, &message)
    }

    /// Delivers to every recipient in order, each answered as soon as it is done (and its
    /// claim released); a recipient given twice gets the first delivery's answer.
    fn deliver_all(
        &mut self,
        transaction: &mut Transaction<D::Claim>,
        message: &[u8],
    ) -> Result<(), End> {
        let mut proxied = self.proxy_all(transaction, message);
        let mut done: Vec<(String, String, String)> = Vec::new();
        for (index, (rcpt, route)) in transaction.recipients.iter_mut().enumerate() {
            let claim = match route {
                Route::Local(claim) => claim,
                Route::Proxied => {
                    let reply = proxied.remove(&index).unwrap_or_else(|| {
                        format!("451 4.4.0 Proxy failed (session={})", rcpt.session_id)
                    });
                    self.line(&reply)?;
                    self.flush()?;
                    continue;
                }
            };
            let first = done
                .iter()
                .find(|(user, detail, _)| *user == rcpt.user && *detail == rcpt.detail);
            if let Some((_, _, reply)) = first {
                let reply = reply.clone();
                *claim = None;
                self.line(&reply)?;
                continue;
            }
            let shown = rcpt.address.encode();
            let reply = match self.deliverer.deliver(rcpt, message) {
                Delivered::Saved => format!("250 2.0.0 <{shown}> {} Saved", rcpt.session_id),
                Delivered::TempFail { text, internal } => {
                    let code = if internal { "451 4.3.0" } else { "451 4.2.0" };
                    format!("{code} <{shown}> {text}")
                }
                Delivered::OverQuota { text, temporary } => {
                    let code = if temporary { "452 4.2.2" } else { "552 5.2.2" };
                    format!("{code} <{shown}> {text}")
                }
                Delivered::Rejected(text) => format!("552 5.2.0 <{shown}> {text}"),
            };
            *claim = None;
            self.line(&reply)?;
            // Answered at once: the client sees each recipient's result as it happens.
            self.flush()?;
            done.push((rcpt.user.clone(), rcpt.detail.clone(), reply));
        }
        Ok(())
    }

    /// Sends the message to the backends of the proxied recipients: the `Received` header
    /// instead of the local ones. Returns their answers by recipient index.
    fn proxy_all(
        &mut self,
        transaction: &Transaction<D::Claim>,
        message: &[u8],
    ) -> std::collections::HashMap<usize, String> {
        if self.proxy.is_empty() {
            return std::collections::HashMap::new();
        }
        let body = message.get(transaction.local_headers..).unwrap_or(&[]);
        let mut proxy_message = transaction.proxy_headers.as_bytes().to_vec();
        proxy_message.extend_from_slice(body);
        let (addresses, ids): (Vec<String>, Vec<String>) = transaction
            .recipients
            .iter()
            .map(|(r, _)| (r.address.encode(), r.session_id.clone()))
            .unzip();
        let replies = self.proxy.data(&proxy_message, &addresses, &ids);
        self.proxy.finish();
        replies
    }
}
