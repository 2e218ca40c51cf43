# QRESYNC on an mbox mailbox (Debian's mail_location shape): expunges reported as VANISHED,
# and SELECT (QRESYNC ...) / UID FETCH (CHANGEDSINCE n VANISHED) after them. The mbox
# backend gives no expunge history, so cote answers with the superset (here the same UIDs).
# Recorded from Dovecot 2.3.19.1 with the same location.
@config mail_location = mbox:{root}/mail/%u:INBOX={root}/mail/%u/inbox
@connect imap one
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a1 LOGIN alice secret
S: a1 OK [CAPABILITY {*}] Logged in
C: a2 ENABLE QRESYNC
S: * ENABLED QRESYNC
S: a2 OK Enabled ({*} secs).
C: a3 CREATE Box
S: a3 OK Create completed ({*} secs).
@send "a4 APPEND Box {44+}\r\nFrom: a@example.org\r\nSubject: x1\r\n\r\nbody 1\r\n\r\n"
S: a4 OK [APPENDUID {*} 1] Append completed ({*} secs).
@send "a5 APPEND Box {44+}\r\nFrom: a@example.org\r\nSubject: x2\r\n\r\nbody 2\r\n\r\n"
S: a5 OK [APPENDUID {*} 2] Append completed ({*} secs).
@send "a6 APPEND Box {44+}\r\nFrom: a@example.org\r\nSubject: x3\r\n\r\nbody 3\r\n\r\n"
S: a6 OK [APPENDUID {*} 3] Append completed ({*} secs).
C: a7 SELECT Box
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 3 EXISTS
S: * 3 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {=uv}] UIDs valid
S: * OK [UIDNEXT 4] Predicted next UID
S: * OK [HIGHESTMODSEQ 4] Highest
S: a7 OK [READ-WRITE] Select completed ({*} secs).
C: a8 STORE 2 +FLAGS (\Deleted)
S: * 2 FETCH (UID 2 MODSEQ (5) FLAGS (\Deleted \Recent))
S: a8 OK Store completed ({*} secs).
C: a9 EXPUNGE
S: * VANISHED 2
S: * 2 RECENT
S: a9 OK [HIGHESTMODSEQ 6] Expunge completed ({*} secs).
C: a10 SELECT Box (QRESYNC ({uv} 1 1:3))
S: * OK [CLOSED] Previous mailbox closed.
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 2 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 4] Predicted next UID
S: * OK [HIGHESTMODSEQ 6] Highest
S: * VANISHED (EARLIER) 2
S: * 1 FETCH (UID 1 FLAGS () MODSEQ (2))
S: * 2 FETCH (UID 3 FLAGS () MODSEQ (4))
S: a10 OK [READ-WRITE] Select completed ({*} secs).
C: a11 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)
S: * VANISHED (EARLIER) 2
S: * 1 FETCH (UID 1 FLAGS () MODSEQ (2))
S: * 2 FETCH (UID 3 FLAGS () MODSEQ (4))
S: a11 OK Fetch completed ({*} secs).
C: a12 LOGOUT
S: * BYE Logging out
S: a12 OK Logout completed ({*} secs).

