//! Reading what a mailbox holds — messages with their metadata and cached fields, STATUS
//! — and copying messages in from another mailbox (hard links when allowed).

use crate::index::uidset::UidSet;
use crate::storage::api::{Copied, Mailbox, MailboxStatus, SyncFlags};
use crate::storage::error::{ErrorKind, StorageError, StorageResult};
use crate::storage::mail::{IndexedMeta, Mail, MailFile, MailParts};
use crate::storage::view::MailboxView;

use super::core::{keyword_names, mail_flags};
use super::MaildirMailbox;

impl MaildirMailbox {
    pub(super) fn mail_inner(&mut self, uid: u32) -> StorageResult<Mail> {
        let state = self.view.state();
        let Some(m) = state.message(uid) else {
            return Err(
                StorageError::new(ErrorKind::Expunged, "Message was expunged").for_uid(uid),
            );
        };
        let candidates = self.core.candidates(m, state);
        let keywords = keyword_names(state, m);
        let meta = IndexedMeta {
            physical_size: m.physical_size,
            virtual_size: m.virtual_size,
            internal_date: m.internal_date,
            save_date: m.save_date,
        };
        if self.core.uidlist.list().header().is_none() {
            // Not read yet in this session (a sync that found nothing new does not need it).
            self.core
                .uidlist
                .refresh()
                .map_err(|e| StorageError::from_maildir(Some(&self.core.vname), &e))?;
        }
        let record = self.core.uidlist.list().get(uid);
        let guid = record
            .and_then(|r| r.extension(b'G'))
            .map(|g| String::from_utf8_lossy(g).into_owned())
            .unwrap_or_else(|| String::from_utf8_lossy(&m.key).into_owned());
        let pop3_uidl = record
            .and_then(|r| r.extension(b'P'))
            .map(|p| String::from_utf8_lossy(p).into_owned());
        let parts = MailParts {
            uid,
            flags: mail_flags(m.flags),
            keywords,
            modseq: m.modseq,
            recent: self.view.seqs().is_recent(uid),
            vname: self.core.vname.clone(),
            guid,
            pop3_uidl,
            header_md5: None,
            broken_filename_sizes: self.core.settings.maildir.broken_filename_sizes,
            file: MailFile {
                mailbox_dir: self.core.dir.clone(),
                base: m.key.to_vec(),
                candidates,
                sep: self.core.sep(),
            },
            meta,
            cached: Vec::new(),
        };
        let cached = self.view.cached_fields(uid);
        Ok(Mail::new(MailParts { cached, ..parts }))
    }

    pub(super) fn status_inner(&mut self) -> StorageResult<MailboxStatus> {
        self.sync_inner(SyncFlags::default())?;
        MailboxView::status_of(self, |mb| &mut mb.view, Self::mail_inner)
    }

    pub(super) fn copy_inner(
        &mut self,
        src: &mut dyn Mailbox,
        uids: &UidSet,
    ) -> StorageResult<Copied> {
        self.writable()?;
        let mut files = Vec::new();
        let mut src_uids = Vec::new();
        let mut expunged = false;
        for uid in uids.iter() {
            let Some(info) = src.info(uid) else {
                if src.seqs().seq(uid).is_some() {
                    expunged = true;
                }
                continue;
            };
            let mut mail = src.mail(uid)?;
            let meta = (
                mail.internal_date(),
                mail.physical_size(),
                mail.virtual_size(),
            );
            let (date, psize, vsize) = match meta {
                (Ok(d), Ok(p), Ok(v)) => (d, p, v),
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                    if e.kind() == ErrorKind::Expunged {
                        expunged = true;
                        continue;
                    }
                    return Err(e);
                }
            };
            let mut tmp = None;
            if self.core.settings.maildir.copy_with_hardlinks {
                if let Some(ls) = src.link_source(uid)? {
                    if ls.perms == self.core.perms {
                        tmp = self.core.link_tmp(
                            &ls.path,
                            info.flags,
                            info.keywords.clone(),
                            date,
                            psize,
                            vsize,
                        )?;
                    }
                }
            }
            let tmp = match tmp {
                Some(t) => t,
                None => {
                    let data = match mail.raw() {
                        Ok(d) => d.to_vec(),
                        Err(e) if e.kind() == ErrorKind::Expunged => {
                            expunged = true;
                            continue;
                        }
                        Err(e) => return Err(e),
                    };
                    self.core
                        .write_tmp(&data, info.flags, info.keywords.clone(), Some(date))?
                }
            };
            files.push(tmp);
            src_uids.push(uid);
        }
        if expunged {
            return Err(StorageError::new(
                ErrorKind::Expunged,
                "Some of the requested messages no longer exist.",
            ));
        }
        if files.is_empty() {
            return Ok(Copied {
                uidvalidity: self.view.uidvalidity(),
                ..Copied::default()
            });
        }
        let saved = self.commit_files(files, true)?;
        Ok(Copied {
            uidvalidity: saved.uidvalidity,
            src_uids,
            dest_uids: saved.uids,
        })
    }
}
