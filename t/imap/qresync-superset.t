# QRESYNC when the index log no longer reaches back to the client's modseq (here every
# commit rotates the log, and only the previous file is kept): VANISHED (EARLIER) is then
# every UID of the client's set below UIDNEXT that no longer exists (RFC 7162 allows a
# superset), narrowed by the message sequence match data up to its last sample that still
# matches (§3.2.5.2), as Dovecot 2.3.19.1 answers with the same settings: recorded from it
# (t/oracle/imap-transcript-check cannot compare it whole): every line is Dovecot's but the
# FETCH lines of the resynchronizations, where Dovecot lists every message (its rotations had
# set every modseq to the highest) and cote the messages changed since (its modseqs stay).
@config mail_index_log_rotate_min_size = 0
@config mail_index_log_rotate_max_size = 1
@config mail_index_log_rotate_min_age = 0
@connect imap one
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a1 LOGIN alice secret
S: a1 OK [CAPABILITY {*}] Logged in
C: a2 CREATE Old
S: a2 OK Create completed ({*} secs).
@send "a3 APPEND Old {44+}\r\nFrom: a@example.org\r\nSubject: s1\r\n\r\nbody 1\r\n\r\n"
S: a3 OK [APPENDUID {*} 1] Append completed ({*} secs).
@send "a4 APPEND Old {44+}\r\nFrom: a@example.org\r\nSubject: s2\r\n\r\nbody 2\r\n\r\n"
S: a4 OK [APPENDUID {*} 2] Append completed ({*} secs).
@send "a5 APPEND Old {44+}\r\nFrom: a@example.org\r\nSubject: s3\r\n\r\nbody 3\r\n\r\n"
S: a5 OK [APPENDUID {*} 3] Append completed ({*} secs).
@send "a6 APPEND Old {44+}\r\nFrom: a@example.org\r\nSubject: s4\r\n\r\nbody 4\r\n\r\n"
S: a6 OK [APPENDUID {*} 4] Append completed ({*} secs).
@send "a7 APPEND Old {44+}\r\nFrom: a@example.org\r\nSubject: s5\r\n\r\nbody 5\r\n\r\n"
@send "a8 APPEND Old {44+}\r\nFrom: a@example.org\r\nSubject: s6\r\n\r\nbody 6\r\n\r\n"
S: a7 OK [APPENDUID {*} 5] Append completed ({*} secs).
S: a8 OK [APPENDUID {*} 6] Append completed ({*} secs).
@send "a9 APPEND Old {44+}\r\nFrom: a@example.org\r\nSubject: s7\r\n\r\nbody 7\r\n\r\n"
S: a9 OK [APPENDUID {*} 7] Append completed ({*} secs).
@send "a10 APPEND Old {44+}\r\nFrom: a@example.org\r\nSubject: s8\r\n\r\nbody 8\r\n\r\n"
S: a10 OK [APPENDUID {*} 8] Append completed ({*} secs).
@send "a11 APPEND Old {44+}\r\nFrom: a@example.org\r\nSubject: s9\r\n\r\nbody 9\r\n\r\n"
S: a11 OK [APPENDUID {*} 9] Append completed ({*} secs).
@send "a12 APPEND Old {46+}\r\nFrom: a@example.org\r\nSubject: s10\r\n\r\nbody 10\r\n\r\n"
S: a12 OK [APPENDUID {*} 10] Append completed ({*} secs).
C: a20 SELECT Old
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 10 EXISTS
S: * 10 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {=uv}] UIDs valid
S: * OK [UIDNEXT 11] Predicted next UID
S: a20 OK [READ-WRITE] Select completed ({*} secs).
C: a21 STORE 1:* +FLAGS.SILENT (\Flagged)
S: a21 OK Store completed ({*} secs).
C: a22 STORE 1:* -FLAGS.SILENT (\Flagged)
S: a22 OK Store completed ({*} secs).
C: a23 UID STORE 2 +FLAGS.SILENT (\Deleted)
S: a23 OK Store completed ({*} secs).
C: a24 UID EXPUNGE 2
S: * 2 EXPUNGE
S: * 9 RECENT
S: a24 OK Expunge completed ({*} secs).
C: a25 UID STORE 4 +FLAGS.SILENT (\Deleted)
S: a25 OK Store completed ({*} secs).
C: a26 UID EXPUNGE 4
S: * 3 EXPUNGE
S: * 8 RECENT
S: a26 OK Expunge completed ({*} secs).
C: a27 UID STORE 6 +FLAGS.SILENT (\Seen)
S: a27 OK Store completed ({*} secs).
C: a28 UID STORE 8 +FLAGS.SILENT (\Deleted)
S: a28 OK Store completed ({*} secs).
C: a29 UID EXPUNGE 8
S: * 6 EXPUNGE
S: * 7 RECENT
S: a29 OK Expunge completed ({*} secs).
C: a30 UID STORE 9 +FLAGS.SILENT (\Seen)
S: a30 OK Store completed ({*} secs).
C: a31 UID STORE 10 +FLAGS.SILENT (\Answered)
S: a31 OK Store completed ({*} secs).
C: a32 UID STORE 1 +FLAGS.SILENT (\Answered)
S: a32 OK Store completed ({*} secs).
C: a33 LOGOUT
S: * BYE Logging out
S: a33 OK Logout completed ({*} secs).
@connect imap two
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: b1 LOGIN alice secret
S: b1 OK [CAPABILITY {*}] Logged in
C: b2 ENABLE QRESYNC
S: * ENABLED QRESYNC
S: b2 OK Enabled ({*} secs).
C: b3 EXAMINE Old (QRESYNC ({uv} 13))
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS ()] Read-only mailbox.
S: * 7 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 11] Predicted next UID
S: * OK [HIGHESTMODSEQ 23] Highest
S: * VANISHED (EARLIER) 2,4,8
S: * 1 FETCH (UID 1 FLAGS (\Answered) MODSEQ (23))
S: * 4 FETCH (UID 6 FLAGS (\Seen) MODSEQ (18))
S: * 6 FETCH (UID 9 FLAGS (\Seen) MODSEQ (21))
S: * 7 FETCH (UID 10 FLAGS (\Answered) MODSEQ (22))
S: b3 OK [READ-ONLY] Examine completed ({*} secs).
C: b4 EXAMINE Old (QRESYNC ({uv} 13 1:10))
S: * OK [CLOSED] Previous mailbox closed.
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS ()] Read-only mailbox.
S: * 7 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 11] Predicted next UID
S: * OK [HIGHESTMODSEQ 23] Highest
S: * VANISHED (EARLIER) 2,4,8
S: * 1 FETCH (UID 1 FLAGS (\Answered) MODSEQ (23))
S: * 4 FETCH (UID 6 FLAGS (\Seen) MODSEQ (18))
S: * 6 FETCH (UID 9 FLAGS (\Seen) MODSEQ (21))
S: * 7 FETCH (UID 10 FLAGS (\Answered) MODSEQ (22))
S: b4 OK [READ-ONLY] Examine completed ({*} secs).
C: b5 EXAMINE Old (QRESYNC ({uv} 13 1:10 (1:3 1,3,5)))
S: * OK [CLOSED] Previous mailbox closed.
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS ()] Read-only mailbox.
S: * 7 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 11] Predicted next UID
S: * OK [HIGHESTMODSEQ 23] Highest
S: * VANISHED (EARLIER) 8
S: * 1 FETCH (UID 1 FLAGS (\Answered) MODSEQ (23))
S: * 4 FETCH (UID 6 FLAGS (\Seen) MODSEQ (18))
S: * 6 FETCH (UID 9 FLAGS (\Seen) MODSEQ (21))
S: * 7 FETCH (UID 10 FLAGS (\Answered) MODSEQ (22))
S: b5 OK [READ-ONLY] Examine completed ({*} secs).
C: b6 EXAMINE Old (QRESYNC ({uv} 13 1:10 (1,2,4 1,3,6)))
S: * OK [CLOSED] Previous mailbox closed.
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS ()] Read-only mailbox.
S: * 7 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 11] Predicted next UID
S: * OK [HIGHESTMODSEQ 23] Highest
S: * VANISHED (EARLIER) 8
S: * 1 FETCH (UID 1 FLAGS (\Answered) MODSEQ (23))
S: * 4 FETCH (UID 6 FLAGS (\Seen) MODSEQ (18))
S: * 6 FETCH (UID 9 FLAGS (\Seen) MODSEQ (21))
S: * 7 FETCH (UID 10 FLAGS (\Answered) MODSEQ (22))
S: b6 OK [READ-ONLY] Examine completed ({*} secs).
C: b7 EXAMINE Old (QRESYNC ({uv} 13 1:10 (1:10 1:10)))
S: * OK [CLOSED] Previous mailbox closed.
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS ()] Read-only mailbox.
S: * 7 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 11] Predicted next UID
S: * OK [HIGHESTMODSEQ 23] Highest
S: * VANISHED (EARLIER) 2,4,8
S: * 1 FETCH (UID 1 FLAGS (\Answered) MODSEQ (23))
S: * 4 FETCH (UID 6 FLAGS (\Seen) MODSEQ (18))
S: * 6 FETCH (UID 9 FLAGS (\Seen) MODSEQ (21))
S: * 7 FETCH (UID 10 FLAGS (\Answered) MODSEQ (22))
S: b7 OK [READ-ONLY] Examine completed ({*} secs).
C: b8 EXAMINE Old (QRESYNC ({uv} 13 3:7))
S: * OK [CLOSED] Previous mailbox closed.
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS ()] Read-only mailbox.
S: * 7 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 11] Predicted next UID
S: * OK [HIGHESTMODSEQ 23] Highest
S: * VANISHED (EARLIER) 4
S: * 4 FETCH (UID 6 FLAGS (\Seen) MODSEQ (18))
S: b8 OK [READ-ONLY] Examine completed ({*} secs).
C: b9 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 13 VANISHED)
S: * VANISHED (EARLIER) 2,4,8
S: * 1 FETCH (UID 1 FLAGS (\Answered) MODSEQ (23))
S: * 4 FETCH (UID 6 FLAGS (\Seen) MODSEQ (18))
S: * 6 FETCH (UID 9 FLAGS (\Seen) MODSEQ (21))
S: * 7 FETCH (UID 10 FLAGS (\Answered) MODSEQ (22))
S: b9 OK Fetch completed ({*} secs).
C: b10 EXAMINE Old (QRESYNC ({uv} 20))
S: * OK [CLOSED] Previous mailbox closed.
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS ()] Read-only mailbox.
S: * 7 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 11] Predicted next UID
S: * OK [HIGHESTMODSEQ 23] Highest
S: * VANISHED (EARLIER) 2,4,8
S: * 1 FETCH (UID 1 FLAGS (\Answered) MODSEQ (23))
S: * 6 FETCH (UID 9 FLAGS (\Seen) MODSEQ (21))
S: * 7 FETCH (UID 10 FLAGS (\Answered) MODSEQ (22))
S: b10 OK [READ-ONLY] Examine completed ({*} secs).
C: b11 LOGOUT
S: * BYE Logging out
S: b11 OK Logout completed ({*} secs).

