# Debian's mail_location shape (mbox files under a root, INBOX a spool file of its own): a
# session over an INBOX that does not exist yet, APPEND, FETCH, STORE with a new keyword,
# EXPUNGE (a rewrite of the file), a second session that sees it all, and LIST. The answers
# are Dovecot 2.3.19.1's with the same location (mbox:ROOT/%u:INBOX=ROOT/%u/inbox).
@config mail_location = mbox:{root}/mail/%u:INBOX={root}/mail/%u/inbox
@connect imap one
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a LOGIN alice secret
S: a OK [CAPABILITY {*}] Logged in
C: b SELECT INBOX
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 0 EXISTS
S: * 0 RECENT
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 1] Predicted next UID
S: b OK [READ-WRITE] Select completed ({*} secs).
@send "c APPEND INBOX (\\Seen $Work) \"05-Mar-2024 09:11:12 +0000\" {22+}\r\nSubject: a\r\n\r\nbody a\r\n\r\n"
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work \*)] Flags permitted.
S: * 1 EXISTS
S: * 1 RECENT
S: c OK [APPENDUID {*} 1] Append completed ({*} secs).
@send "d APPEND INBOX () \"06-Mar-2024 09:11:12 +0000\" {22+}\r\nSubject: b\r\n\r\nbody b\r\n\r\n"
S: * 2 EXISTS
S: * 2 RECENT
S: d OK [APPENDUID {*} 2] Append completed ({*} secs).
C: f FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[TEXT])
S: * 1 FETCH (UID 1 FLAGS (\Seen \Recent $Work) RFC822.SIZE 22 INTERNALDATE "05-Mar-2024 09:11:12 +0000" BODY[TEXT] {8}
S: body a
S: )
S: * 2 FETCH (UID 2 FLAGS (\Recent) RFC822.SIZE 22 INTERNALDATE "06-Mar-2024 09:11:12 +0000" BODY[TEXT] {8}
S: body b
S: )
S: f OK Fetch completed ({*} secs).
C: g STORE 2 +FLAGS (\Flagged Later)
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work Later)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work Later \*)] Flags permitted.
S: * 2 FETCH (FLAGS (\Flagged \Recent Later))
S: g OK Store completed ({*} secs).
C: h STORE 1 +FLAGS.SILENT (\Deleted)
S: h OK Store completed ({*} secs).
C: i EXPUNGE
S: * 1 EXPUNGE
S: * 1 RECENT
S: i OK Expunge completed ({*} secs).
C: j FETCH 1:* (UID FLAGS)
S: * 1 FETCH (UID 2 FLAGS (\Flagged \Recent Later))
S: j OK Fetch completed ({*} secs).
C: k LIST "" *
S: * LIST (\HasNoChildren) "/" INBOX
S: k OK List completed ({*} secs).

@connect imap two
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a LOGIN alice secret
S: a OK [CAPABILITY {*}] Logged in
C: b EXAMINE INBOX
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work Later)
S: * OK [PERMANENTFLAGS ()] Read-only mailbox.
S: * 1 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 3] Predicted next UID
S: b OK [READ-ONLY] Examine completed ({*} secs).
C: c FETCH 1 (UID FLAGS RFC822.SIZE)
S: * 1 FETCH (UID 2 FLAGS (\Flagged Later) RFC822.SIZE 22)
S: c OK Fetch completed ({*} secs).
C: d LOGOUT
S: * BYE Logging out
S: d OK Logout completed ({*} secs).

@use one
C: l LOGOUT
S: * BYE Logging out
S: l OK Logout completed ({*} secs).
