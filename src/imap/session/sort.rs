//! SORT and THREAD: the search, then the messages found ordered ([`crate::imap::sort`]) or
//! threaded ([`crate::imap::thread`]), answered as Dovecot answers.

use std::io::{Read, Write};

use super::{Reply, Session, Step, WaitInput};
use std::collections::HashMap;

use crate::imap::esearch::esearch_response;
use crate::imap::mail_session::{MailMessage, MailSession};
use crate::imap::parser::search::{SearchKey, SearchReturn};
use crate::imap::parser::sort::{Sort, Thread};
use crate::imap::response::Code;
use crate::imap::sort::{header_value, sent_or_received_date, sort_rows, sort_value, SortRow};
use crate::imap::thread::{thread_response, threads, ThreadMessage};

impl<S: MailSession, R: Read + WaitInput, W: Write> Session<'_, S, R, W> {
    pub(super) fn sort(&mut self, sort: &Sort) -> Step<Reply> {
        let uses_modseq = sort.program.iter().any(SearchKey::uses_modseq);
        if uses_modseq {
            self.enable_condstore()?;
        }
        if let Some(refused) = self.refuse_update(sort.returns.as_ref()) {
            return Ok(refused);
        }
        let criteria = &sort.criteria;
        let found = self.search_and_read(&sort.program, false, |message, seq, _| {
            let values = criteria
                .iter()
                .map(|&(key, _)| sort_value(message, key))
                .collect::<Result<Vec<_>, _>>()?;
            let modseq = if uses_modseq { message.modseq()? } else { 0 };
            let row = SortRow {
                seq,
                uid: message.uid(),
                values,
            };
            Ok((row, modseq))
        });
        let found = match found {
            Ok(found) => found,
            Err(e) => return Ok(Reply::mail_error(&e, false)),
        };
        if sort.returns.is_some_and(|r| r.update) {
            let result = found.items.iter().map(|(row, _)| row.uid).collect();
            self.start_search_update(
                &sort.program,
                found.program.clone(),
                sort.uid,
                result,
                &sort.update_fetch,
            )?;
        }
        let modseqs: HashMap<u32, u64> = found
            .items
            .iter()
            .map(|(row, modseq)| (row.uid, *modseq))
            .collect();
        let mut rows: Vec<SortRow> = found.items.into_iter().map(|(row, _)| row).collect();
        sort_rows(&mut rows, criteria);
        let ids: Vec<u32> = rows
            .iter()
            .map(|row| if sort.uid { row.uid } else { row.seq })
            .collect();
        let modseq_of = |rows: &[&SortRow]| {
            uses_modseq
                .then(|| {
                    rows.iter()
                        .filter_map(|r| modseqs.get(&r.uid))
                        .max()
                        .copied()
                })
                .flatten()
        };
        match sort.returns {
            None => {
                let mut line = String::from("* SORT");
                for id in &ids {
                    line.push_str(&format!(" {id}"));
                }
                let all: Vec<&SortRow> = rows.iter().collect();
                if let Some(max) = modseq_of(&all) {
                    line.push_str(&format!(" (MODSEQ {max})"));
                }
                self.line(line.as_bytes())?;
            }
            Some(ret) => {
                // ESORT (RFC 5267): the ESEARCH items of the result in sort order (MIN and
                // MAX are its first and last, as in Dovecot); SAVE and MODSEQ take the
                // messages the items were reduced to, as for SEARCH.
                let (saved, kept) = esearch_kept(&ret, &rows);
                if ret.save {
                    self.saved_result = Some(saved.iter().map(|r| r.uid).collect());
                }
                if ret.sends_esearch(uses_modseq) {
                    let line = esearch_response(
                        &self.current.tag,
                        sort.uid,
                        &ret,
                        &ids,
                        modseq_of(&kept),
                        kept.len(),
                    );
                    self.line(&line)?;
                }
            }
        }
        Ok(completed("Sort completed.", found.lost))
    }

    pub(super) fn thread(&mut self, thread: &Thread) -> Step<Reply> {
        // Every message's IDs count (see ThreadMessage::matched); subjects and dates are
        // needed of the matched ones only.
        let found = self.search_and_read(&thread.program, true, |message, seq, matched| {
            let mut item = ThreadMessage {
                uid: message.uid(),
                matched,
                message_id: header_value(message, "Message-ID")?,
                references: header_value(message, "References")?,
                in_reply_to: header_value(message, "In-Reply-To")?,
                ..ThreadMessage::default()
            };
            if matched {
                item.subject = header_value(message, "Subject")?;
                item.date = sent_or_received_date(message)?;
            }
            Ok((item, seq))
        });
        // Unlike SEARCH and SORT, Dovecot's UID THREAD reports expunges even after a
        // sequence set.
        self.current.hold_expunges = false;
        let found = match found {
            Ok(found) => found,
            Err(e) => return Ok(Reply::mail_error(&e, false)),
        };
        let seq_of: HashMap<u32, u32> = found.items.iter().map(|(m, seq)| (m.uid, *seq)).collect();
        let messages: Vec<ThreadMessage> = found.items.into_iter().map(|(m, _)| m).collect();
        let tree = threads(thread.algorithm, &messages);
        let number = |uid: u32| {
            if thread.uid {
                uid
            } else {
                seq_of.get(&uid).copied().unwrap_or(0)
            }
        };
        let line = thread_response(&tree, &number);
        self.line(line.as_bytes())?;
        Ok(completed("Thread completed.", found.lost))
    }
}

/// The messages of a result (in its order) that SAVE and MODSEQ take, as Dovecot's
/// `cmd_search_more` picks them: MIN's first; with ALL, COUNT or SAVE alone every one; with
/// PARTIAL those in its range (SAVE with COUNT takes the others too, MODSEQ does not);
/// MAX's last. Returns (for SAVE, for MODSEQ).
fn esearch_kept<'a>(
    ret: &SearchReturn,
    rows: &'a [SortRow],
) -> (Vec<&'a SortRow>, Vec<&'a SortRow>) {
    let (mut save, mut modseq) = (Vec::new(), Vec::new());
    for (i, row) in rows.iter().enumerate() {
        let in_partial = ret
            .partial
            .is_some_and(|(first, last)| (first as usize..=last as usize).contains(&(i + 1)));
        let taken = (ret.min && i == 0)
            || (ret.max && i + 1 == rows.len())
            || ret.all
            || in_partial
            || (ret.partial.is_none() && (ret.count || (ret.save && !ret.min && !ret.max)));
        if taken {
            save.push(row);
            modseq.push(row);
        } else if ret.partial.is_some() && ret.count && ret.save {
            save.push(row);
        }
    }
    (save, modseq)
}

/// The tagged OK, with `[EXPUNGEISSUED]` when a message vanished while it was read.
fn completed(text: &str, lost: bool) -> Reply {
    if lost {
        Reply::ok_with(Code::ExpungeIssued, text)
    } else {
        Reply::ok(text)
    }
}
