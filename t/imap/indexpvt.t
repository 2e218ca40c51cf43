# Private \Seen (`INDEXPVT=`) in a public namespace, as Dovecot 2.3.19.1 answers the same
# conversation: alice and bob read the same public Maildir ({root}/mail, writable by all),
# each with their own \Seen in their home; \Flagged and the other flags stay shared. A
# public namespace's new messages start with the shared \Seen (none here: what alice
# appends with \Seen is seen by her only). A \Seen change gives the message a new modseq,
# which another user's CONDSTORE session gets as FETCH (MODSEQ) alone, and a session
# without CONDSTORE does not hear of at all. tests/indexpvt_oracle.rs compares both servers
# on a shared namespace (shared/%%u/) with the acl plugin.
@config mail_location = maildir:{root}/mail/%u
@config namespace inbox {
@config   inbox = yes
@config   separator = /
@config }
@config namespace public {
@config   type = public
@config   separator = /
@config   prefix = Public/
@config   location = maildir:{root}/mail:INDEXPVT=~/pvt
@config   subscriptions = no
@config   list = yes
@config }
@connect imap alice
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a LOGIN alice secret
S: a OK [CAPABILITY {*}] Logged in
C: b CREATE Public/Team
S: b OK Create completed ({*} secs).
C: c APPEND Public/Team (\Seen) {12+}
C: Subject: x
C:
S: c OK [APPENDUID {*} 1] Append completed ({*} secs).
C: d APPEND Public/Team {12+}
C: Subject: y
C:
S: d OK [APPENDUID {*} 2] Append completed ({*} secs).
C: e SELECT Public/Team
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 2 EXISTS
S: * 2 RECENT
S: * OK [UNSEEN 2] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 3] Predicted next UID
S: e OK [READ-WRITE] Select completed ({*} secs).
C: f FETCH 1:* (FLAGS)
S: * 1 FETCH (FLAGS (\Seen \Recent))
S: * 2 FETCH (FLAGS (\Recent))
S: f OK Fetch completed ({*} secs).
@connect imap bob
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a LOGIN bob hunter2
S: a OK [CAPABILITY {*}] Logged in
C: b ENABLE CONDSTORE
S: * ENABLED CONDSTORE
S: b OK Enabled ({*} secs).
C: c SELECT Public/Team
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 2 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 3] Predicted next UID
S: * OK [HIGHESTMODSEQ {*}] Highest
S: c OK [READ-WRITE] Select completed ({*} secs).
C: d STORE 2 +FLAGS (\Seen \Flagged)
S: * 2 FETCH (MODSEQ ({*}) FLAGS (\Flagged \Seen))
S: d OK Store completed ({*} secs).
C: e SEARCH UNSEEN
S: * SEARCH 1
S: e OK Search completed ({*} secs).
@use alice
C: g NOOP
S: * 2 FETCH (FLAGS (\Flagged \Recent))
S: g OK NOOP completed ({*} secs).
C: h SEARCH SEEN
S: * SEARCH 1
S: h OK Search completed ({*} secs).
@use bob
C: f STORE 2 -FLAGS (\Seen)
S: * 2 FETCH (MODSEQ ({*}) FLAGS (\Flagged))
S: f OK Store completed ({*} secs).
# alice has no CONDSTORE: nothing changed for her.
@use alice
C: i NOOP
S: i OK NOOP completed ({*} secs).
C: j ENABLE CONDSTORE
S: * OK [HIGHESTMODSEQ {*}] Highest
S: * ENABLED CONDSTORE
S: j OK Enabled ({*} secs).
@use bob
C: g STORE 2 +FLAGS.SILENT (\Seen)
S: * 2 FETCH (MODSEQ ({*}))
S: g OK Store completed ({*} secs).
@use alice
C: k NOOP
S: * 2 FETCH (MODSEQ ({*}))
S: k OK NOOP completed ({*} secs).
C: l FETCH 1:* (FLAGS)
S: * 1 FETCH (FLAGS (\Seen \Recent))
S: * 2 FETCH (FLAGS (\Flagged \Recent))
S: l OK Fetch completed ({*} secs).
# bob's second session reads his \Seen back.
@connect imap bob2
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a LOGIN bob hunter2
S: a OK [CAPABILITY {*}] Logged in
C: b STATUS Public/Team (MESSAGES UNSEEN)
S: * STATUS Public/Team (MESSAGES 2 UNSEEN 1)
S: b OK Status completed ({*} secs).
# No CONDSTORE here, and HIGHESTMODSEQ all the same: bob's first session used modseqs on
# the mailbox.
C: c EXAMINE Public/Team
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS ()] Read-only mailbox.
S: * 2 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 3] Predicted next UID
S: * OK [HIGHESTMODSEQ {*}] Highest
S: c OK [READ-ONLY] Examine completed ({*} secs).
C: d FETCH 1:* (FLAGS)
S: * 1 FETCH (FLAGS ())
S: * 2 FETCH (FLAGS (\Flagged \Seen))
S: d OK Fetch completed ({*} secs).
C: e LOGOUT
S: * BYE Logging out
S: e OK Logout completed ({*} secs).
@eof
@use bob
C: h LOGOUT
S: * BYE Logging out
S: h OK Logout completed ({*} secs).
@eof
@use alice
C: m LOGOUT
S: * BYE Logging out
S: m OK Logout completed ({*} secs).
@eof
