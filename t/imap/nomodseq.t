# CONDSTORE and QRESYNC on a mailbox whose modseqs do not outlive the session (an in-memory
# index, `INDEX=MEMORY`): SELECT says [NOMODSEQ] instead of HIGHESTMODSEQ, MODSEQ,
# CHANGEDSINCE and UNCHANGEDSINCE are refused, SELECT (QRESYNC ...) resynchronizes nothing.
# Checked against Dovecot 2.3.19.1 (with the same mail_location) with
# t/oracle/imap-transcript-check, but for two numbers: SEARCH MODSEQ still names a modseq,
# whose value means nothing there; and the second SELECT's RECENT, 0 in Dovecot (it keeps
# \Recent in the Maildir: cur/ is not recent), 2 in cote (each in-memory index claims again).
@config mail_location = maildir:{root}/mail/%u:INDEX=MEMORY
@connect imap one
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a1 LOGIN alice secret
S: a1 OK [CAPABILITY {*}] Logged in
C: a2 CREATE Mem
S: a2 OK Create completed ({*} secs).
@send "a3 APPEND Mem {44+}\r\nFrom: a@example.org\r\nSubject: n1\r\n\r\nbody 1\r\n\r\n"
S: a3 OK [APPENDUID {*} 1] Append completed ({*} secs).
@send "a4 APPEND Mem {44+}\r\nFrom: a@example.org\r\nSubject: n2\r\n\r\nbody 2\r\n\r\n"
S: a4 OK [APPENDUID {*} 2] Append completed ({*} secs).
C: a5 ENABLE QRESYNC
S: * ENABLED QRESYNC
S: a5 OK Enabled ({*} secs).
C: a6 SELECT Mem (CONDSTORE)
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 2 EXISTS
S: * 2 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {=uv}] UIDs valid
S: * OK [UIDNEXT 3] Predicted next UID
S: * OK [NOMODSEQ] No permanent modsequences
S: a6 OK [READ-WRITE] Select completed ({*} secs).
C: a7 FETCH 1 (FLAGS MODSEQ)
S: a7 BAD Error in IMAP command FETCH: FETCH MODSEQ can't be used with non-permanent modseqs ({*} secs).
C: a8 FETCH 1:* (FLAGS) (CHANGEDSINCE 1)
S: a8 BAD Error in IMAP command FETCH: FETCH CHANGEDSINCE can't be used with non-permanent modseqs ({*} secs).
C: a9 STORE 1 (UNCHANGEDSINCE 5) +FLAGS (\Seen)
S: a9 BAD Error in IMAP command STORE: STORE UNCHANGEDSINCE can't be used with non-permanent modseqs ({*} secs).
C: a10 STORE 2 +FLAGS (\Seen)
S: * 2 FETCH (UID 2 FLAGS (\Seen \Recent))
S: a10 OK Store completed ({*} secs).
C: a11 SEARCH MODSEQ 1
S: * SEARCH 1 2 (MODSEQ {*})
S: a11 OK Search completed ({*} secs).
C: a12 STATUS INBOX (HIGHESTMODSEQ)
S: * STATUS INBOX (HIGHESTMODSEQ 1)
S: a12 OK Status completed ({*} secs).
C: a13 SELECT Mem (QRESYNC ({uv} 1))
S: * OK [CLOSED] Previous mailbox closed.
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 2 EXISTS
S: * {*} RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 3] Predicted next UID
S: * OK [NOMODSEQ] No permanent modsequences
S: a13 OK [READ-WRITE] Select completed ({*} secs).
C: a14 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)
S: a14 BAD Error in IMAP command UID FETCH: FETCH CHANGEDSINCE can't be used with non-permanent modseqs ({*} secs).
C: a15 LOGOUT
S: * BYE Logging out
S: a15 OK Logout completed ({*} secs).

