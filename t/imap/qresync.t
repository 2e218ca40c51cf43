# QRESYNC (RFC 7162 §3.2): ENABLE QRESYNC, SELECT/EXAMINE (QRESYNC (uidvalidity modseq
# [known-uids] [(seqs uids)])) with `* VANISHED (EARLIER)` and FETCH (UID FLAGS MODSEQ) of what
# changed, UID FETCH ... (CHANGEDSINCE n VANISHED), and expunges reported as `* VANISHED`
# (NOOP, IDLE, EXPUNGE, UID EXPUNGE) while another session, with CONDSTORE but not QRESYNC,
# changes and expunges. The UIDVALIDITY is taken from the first SELECT ({=uv}).
# Checked against Dovecot 2.3.19.1 with t/oracle/imap-transcript-check, modseqs included (the
# messages are flagged twice first, so that each has the modseq it has in Dovecot). Session
# two selects with CONDSTORE for the difference t/imap/condstore.t explains.
# Here the index log reaches back to every modseq asked, so VANISHED (EARLIER) is exact; the
# superset given when it does not is in t/imap/qresync-superset.t.
@connect imap setup
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a1 LOGIN alice secret
S: a1 OK [CAPABILITY {*}] Logged in
C: a2 CREATE Qr
S: a2 OK Create completed ({*} secs).
@send "a3 APPEND Qr {44+}\r\nFrom: a@example.org\r\nSubject: q1\r\n\r\nbody 1\r\n\r\n"
S: a3 OK [APPENDUID {*} 1] Append completed ({*} secs).
@send "a4 APPEND Qr {44+}\r\nFrom: a@example.org\r\nSubject: q2\r\n\r\nbody 2\r\n\r\n"
S: a4 OK [APPENDUID {*} 2] Append completed ({*} secs).
@send "a5 APPEND Qr {44+}\r\nFrom: a@example.org\r\nSubject: q3\r\n\r\nbody 3\r\n\r\n"
S: a5 OK [APPENDUID {*} 3] Append completed ({*} secs).
@send "a6 APPEND Qr {44+}\r\nFrom: a@example.org\r\nSubject: q4\r\n\r\nbody 4\r\n\r\n"
S: a6 OK [APPENDUID {*} 4] Append completed ({*} secs).
@send "a7 APPEND Qr {44+}\r\nFrom: a@example.org\r\nSubject: q5\r\n\r\nbody 5\r\n\r\n"
S: a7 OK [APPENDUID {*} 5] Append completed ({*} secs).
@send "a8 APPEND Qr {44+}\r\nFrom: a@example.org\r\nSubject: q6\r\n\r\nbody 6\r\n\r\n"
S: a8 OK [APPENDUID {*} 6] Append completed ({*} secs).
@send "a9 APPEND Qr {44+}\r\nFrom: a@example.org\r\nSubject: q7\r\n\r\nbody 7\r\n\r\n"
S: a9 OK [APPENDUID {*} 7] Append completed ({*} secs).
@send "a10 APPEND Qr {44+}\r\nFrom: a@example.org\r\nSubject: q8\r\n\r\nbody 8\r\n\r\n"
S: a10 OK [APPENDUID {*} 8] Append completed ({*} secs).
@send "a11 APPEND Qr {44+}\r\nFrom: a@example.org\r\nSubject: q9\r\n\r\nbody 9\r\n\r\n"
S: a11 OK [APPENDUID {*} 9] Append completed ({*} secs).
@send "a12 APPEND Qr {46+}\r\nFrom: a@example.org\r\nSubject: q10\r\n\r\nbody 10\r\n\r\n"
S: a12 OK [APPENDUID {*} 10] Append completed ({*} secs).
C: a20 SELECT Qr
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
C: a23 LOGOUT
S: * BYE Logging out
S: a23 OK Logout completed ({*} secs).
@connect imap one
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: b1 LOGIN alice secret
S: b1 OK [CAPABILITY {*}] Logged in
C: b2 ENABLE QRESYNC
S: * ENABLED QRESYNC
S: b2 OK Enabled ({*} secs).
C: b3 SELECT Qr (QRESYNC ({uv} 13))
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 10 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 11] Predicted next UID
S: * OK [HIGHESTMODSEQ 13] Highest
S: b3 OK [READ-WRITE] Select completed ({*} secs).
C: b4 STORE 3 +FLAGS (\Seen)
S: * 3 FETCH (UID 3 MODSEQ (14) FLAGS (\Seen))
S: b4 OK Store completed ({*} secs).
@connect imap two
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: c1 LOGIN alice secret
S: c1 OK [CAPABILITY {*}] Logged in
C: c2 SELECT Qr (CONDSTORE)
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 10 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 11] Predicted next UID
S: * OK [HIGHESTMODSEQ 14] Highest
S: c2 OK [READ-WRITE] Select completed ({*} secs).
C: c3 STORE 5,7,9 +FLAGS.SILENT (\Deleted)
S: * 5 FETCH (MODSEQ (15))
S: * 7 FETCH (MODSEQ (15))
S: * 9 FETCH (MODSEQ (15))
S: c3 OK Store completed ({*} secs).
C: c4 EXPUNGE
S: * 9 EXPUNGE
S: * 7 EXPUNGE
S: * 5 EXPUNGE
S: c4 OK Expunge completed ({*} secs).
C: c5 STORE 1 +FLAGS (\Flagged)
S: * 1 FETCH (MODSEQ (17) FLAGS (\Flagged))
S: c5 OK Store completed ({*} secs).
@use one
C: b5 NOOP
S: * 1 FETCH (UID 1 MODSEQ (17) FLAGS (\Flagged))
S: * VANISHED 5,7,9
S: b5 OK NOOP completed ({*} secs).
C: b6 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 14 VANISHED)
S: * VANISHED (EARLIER) 5,7,9
S: * 1 FETCH (UID 1 FLAGS (\Flagged) MODSEQ (17))
S: b6 OK Fetch completed ({*} secs).
C: b7 UID FETCH 2:8 (FLAGS) (CHANGEDSINCE 15 VANISHED)
S: * VANISHED (EARLIER) 5,7
S: b7 OK Fetch completed ({*} secs).
C: b8 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 17 VANISHED)
S: b8 OK Fetch completed ({*} secs).
C: b9 LOGOUT
S: * BYE Logging out
S: b9 OK Logout completed ({*} secs).
@connect imap three
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: d1 LOGIN alice secret
S: d1 OK [CAPABILITY {*}] Logged in
C: d2 ENABLE QRESYNC
S: * ENABLED QRESYNC
S: d2 OK Enabled ({*} secs).
C: d3 SELECT Qr (QRESYNC ({uv} 14))
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 7 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 11] Predicted next UID
S: * OK [HIGHESTMODSEQ 17] Highest
S: * VANISHED (EARLIER) 5,7,9
S: * 1 FETCH (UID 1 FLAGS (\Flagged) MODSEQ (17))
S: d3 OK [READ-WRITE] Select completed ({*} secs).
C: d4 EXAMINE Qr (QRESYNC ({uv} 13 1:8))
S: * OK [CLOSED] Previous mailbox closed.
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS ()] Read-only mailbox.
S: * 7 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 11] Predicted next UID
S: * OK [HIGHESTMODSEQ 17] Highest
S: * VANISHED (EARLIER) 5,7
S: * 1 FETCH (UID 1 FLAGS (\Flagged) MODSEQ (17))
S: * 3 FETCH (UID 3 FLAGS (\Seen) MODSEQ (14))
S: d4 OK [READ-ONLY] Examine completed ({*} secs).
C: d5 EXAMINE Qr (QRESYNC ({uv} 13 1:10 (2,4 2,4)))
S: * OK [CLOSED] Previous mailbox closed.
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS ()] Read-only mailbox.
S: * 7 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 11] Predicted next UID
S: * OK [HIGHESTMODSEQ 17] Highest
S: * VANISHED (EARLIER) 5,7,9
S: * 1 FETCH (UID 1 FLAGS (\Flagged) MODSEQ (17))
S: * 3 FETCH (UID 3 FLAGS (\Seen) MODSEQ (14))
S: d5 OK [READ-ONLY] Examine completed ({*} secs).
C: d6 EXAMINE Qr (QRESYNC (1 13))
S: * OK [CLOSED] Previous mailbox closed.
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS ()] Read-only mailbox.
S: * 7 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 11] Predicted next UID
S: * OK [HIGHESTMODSEQ 17] Highest
S: d6 OK [READ-ONLY] Examine completed ({*} secs).
C: d7 EXAMINE Qr (QRESYNC ({uv} 17))
S: * OK [CLOSED] Previous mailbox closed.
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS ()] Read-only mailbox.
S: * 7 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 11] Predicted next UID
S: * OK [HIGHESTMODSEQ 17] Highest
S: d7 OK [READ-ONLY] Examine completed ({*} secs).
C: d8 SELECT Qr (QRESYNC ({uv} 13 2:9))
S: * OK [CLOSED] Previous mailbox closed.
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 7 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 11] Predicted next UID
S: * OK [HIGHESTMODSEQ 17] Highest
S: * VANISHED (EARLIER) 5,7,9
S: * 3 FETCH (UID 3 FLAGS (\Seen) MODSEQ (14))
S: d8 OK [READ-WRITE] Select completed ({*} secs).
C: d9 IDLE
S: + idling
@use two
C: c6 STORE 2 +FLAGS.SILENT (\Deleted)
S: * 2 FETCH (MODSEQ (18))
S: c6 OK Store completed ({*} secs).
C: c7 UID EXPUNGE 2
S: * 2 EXPUNGE
S: c7 OK Expunge completed ({*} secs).
@use three
S: * VANISHED 2
S: * OK [HIGHESTMODSEQ 19] Highest
C: DONE
S: d9 OK Idle completed ({*} secs).
C: d10 STORE 4 +FLAGS.SILENT (\Deleted)
S: * 4 FETCH (UID 6 MODSEQ (20))
S: d10 OK Store completed ({*} secs).
C: d11 UID EXPUNGE 6
S: * VANISHED 6
S: d11 OK [HIGHESTMODSEQ 21] Expunge completed ({*} secs).
C: d12 STORE 5 +FLAGS (\Deleted)
S: * 5 FETCH (UID 10 MODSEQ (22) FLAGS (\Deleted))
S: d12 OK Store completed ({*} secs).
C: d13 EXPUNGE
S: * VANISHED 10
S: d13 OK [HIGHESTMODSEQ 23] Expunge completed ({*} secs).
C: d14 LOGOUT
S: * BYE Logging out
S: d14 OK Logout completed ({*} secs).
@use two
C: c8 LOGOUT
S: * BYE Logging out
S: c8 OK Logout completed ({*} secs).

