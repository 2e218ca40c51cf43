# CONDSTORE (RFC 7162 §3.1): SELECT (CONDSTORE) and HIGHESTMODSEQ, FETCH ... (CHANGEDSINCE n)
# and the MODSEQ item, STORE (UNCHANGEDSINCE n) with [MODIFIED set] (also for a message
# another session changed, with UID STORE, with .SILENT and with 0), SEARCH MODSEQ with the
# (MODSEQ n) of the result, ESEARCH's MODSEQ, STATUS HIGHESTMODSEQ, the MODSEQ that follows
# a FETCH setting \Seen.
# Checked against Dovecot 2.3.19.1 with t/oracle/imap-transcript-check, modseqs included: the
# messages are flagged twice before CONDSTORE starts, so that each has the modseq it has in
# Dovecot (which gives saved messages their modseq at its first sync).
# Session two has no CONDSTORE and still gets HIGHESTMODSEQ at SELECT: session one used
# modseqs on the mailbox (t/imap/condstore-tracking.t).
@connect imap one
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a1 LOGIN alice secret
S: a1 OK [CAPABILITY {*}] Logged in
C: a2 CREATE Cs
S: a2 OK Create completed ({*} secs).
@send "a3 APPEND Cs {44+}\r\nFrom: a@example.org\r\nSubject: m1\r\n\r\nbody 1\r\n\r\n"
S: a3 OK [APPENDUID {*} 1] Append completed ({*} secs).
@send "a4 APPEND Cs (\\Draft) {44+}\r\nFrom: a@example.org\r\nSubject: m2\r\n\r\nbody 2\r\n\r\n"
S: a4 OK [APPENDUID {*} 2] Append completed ({*} secs).
@send "a5 APPEND Cs {44+}\r\nFrom: a@example.org\r\nSubject: m3\r\n\r\nbody 3\r\n\r\n"
S: a5 OK [APPENDUID {*} 3] Append completed ({*} secs).
@send "a6 APPEND Cs {44+}\r\nFrom: a@example.org\r\nSubject: m4\r\n\r\nbody 4\r\n\r\n"
S: a6 OK [APPENDUID {*} 4] Append completed ({*} secs).
@send "a7 APPEND Cs (\\Draft) {44+}\r\nFrom: a@example.org\r\nSubject: m5\r\n\r\nbody 5\r\n\r\n"
S: a7 OK [APPENDUID {*} 5] Append completed ({*} secs).
@send "a8 APPEND Cs (\\Seen) {44+}\r\nFrom: a@example.org\r\nSubject: m6\r\n\r\nbody 6\r\n\r\n"
S: a8 OK [APPENDUID {*} 6] Append completed ({*} secs).
@send "a9 APPEND Cs {44+}\r\nFrom: a@example.org\r\nSubject: m7\r\n\r\nbody 7\r\n\r\n"
S: a9 OK [APPENDUID {*} 7] Append completed ({*} secs).
C: a10 SELECT Cs
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 7 EXISTS
S: * 7 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {=uv}] UIDs valid
S: * OK [UIDNEXT 8] Predicted next UID
S: a10 OK [READ-WRITE] Select completed ({*} secs).
C: a11 STORE 1:* +FLAGS.SILENT (\Flagged)
S: a11 OK Store completed ({*} secs).
C: a12 STORE 1:* -FLAGS.SILENT (\Flagged)
S: a12 OK Store completed ({*} secs).
C: a13 CLOSE
S: a13 OK Close completed ({*} secs).
C: b1 SELECT Cs (CONDSTORE)
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 7 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 8] Predicted next UID
S: * OK [HIGHESTMODSEQ 10] Highest
S: b1 OK [READ-WRITE] Select completed ({*} secs).
C: b2 FETCH 1:* (FLAGS) (CHANGEDSINCE 9)
S: * 1 FETCH (FLAGS () MODSEQ (10))
S: * 2 FETCH (FLAGS (\Draft) MODSEQ (10))
S: * 3 FETCH (FLAGS () MODSEQ (10))
S: * 4 FETCH (FLAGS () MODSEQ (10))
S: * 5 FETCH (FLAGS (\Draft) MODSEQ (10))
S: * 6 FETCH (FLAGS (\Seen) MODSEQ (10))
S: * 7 FETCH (FLAGS () MODSEQ (10))
S: b2 OK Fetch completed ({*} secs).
C: b3 FETCH 2 (MODSEQ)
S: * 2 FETCH (MODSEQ (10))
S: b3 OK Fetch completed ({*} secs).
C: b4 STORE 1:3 (UNCHANGEDSINCE 9) +FLAGS.SILENT (\Deleted)
S: b4 OK [MODIFIED 1:3] Conditional store failed ({*} secs).
C: b5 UID STORE 4,6 (UNCHANGEDSINCE 10) -FLAGS (\Seen)
S: * 6 FETCH (UID 6 MODSEQ (11) FLAGS ())
S: b5 OK Store completed ({*} secs).
C: b5a STORE 1,3,6 (UNCHANGEDSINCE 10) +FLAGS.SILENT (\Deleted)
S: * 1 FETCH (MODSEQ (12))
S: * 3 FETCH (MODSEQ (12))
S: b5a OK [MODIFIED 6] Conditional store failed ({*} secs).
C: b6 STORE 7 (UNCHANGEDSINCE 10) FLAGS (\Answered)
S: * 7 FETCH (MODSEQ (13) FLAGS (\Answered))
S: b6 OK Store completed ({*} secs).
C: b7 STORE 2 (UNCHANGEDSINCE 0) +FLAGS (\Flagged)
S: b7 OK [MODIFIED 2] Conditional store failed ({*} secs).
C: b8 SEARCH MODSEQ 11
S: * SEARCH 1 3 6 7 (MODSEQ 13)
S: b8 OK Search completed ({*} secs).
C: b9 SEARCH MODSEQ "/flags/\\draft" all 1
S: * SEARCH 1 2 3 4 5 6 7 (MODSEQ 13)
S: b9 OK Search completed ({*} secs).
C: b10 SEARCH RETURN (ALL) MODSEQ 10
S: * ESEARCH (TAG "b10") ALL 1:7 MODSEQ 13
S: b10 OK Search completed ({*} secs).
C: b11 UID SEARCH RETURN (MIN MAX COUNT) MODSEQ 1
S: * ESEARCH (TAG "b11") UID MIN 1 MAX 7 COUNT 7 MODSEQ 13
S: b11 OK Search completed ({*} secs).
C: b12 SEARCH RETURN (COUNT) MODSEQ 1
S: * ESEARCH (TAG "b12") COUNT 7 MODSEQ 13
S: b12 OK Search completed ({*} secs).
C: b13 SEARCH MODSEQ 99
S: * SEARCH
S: b13 OK Search completed ({*} secs).
C: b14 STATUS INBOX (HIGHESTMODSEQ MESSAGES)
S: * STATUS INBOX (MESSAGES 0 HIGHESTMODSEQ 1)
S: b14 OK Status completed ({*} secs).
@connect imap two
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: c1 LOGIN alice secret
S: c1 OK [CAPABILITY {*}] Logged in
C: c2 SELECT Cs
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 7 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 8] Predicted next UID
S: * OK [HIGHESTMODSEQ 13] Highest
S: c2 OK [READ-WRITE] Select completed ({*} secs).
C: c3 STORE 2 +FLAGS (\Answered)
S: * 2 FETCH (FLAGS (\Answered \Draft))
S: c3 OK Store completed ({*} secs).
@use one
C: b15 STORE 2 (UNCHANGEDSINCE 11) +FLAGS (\Seen)
S: * 2 FETCH (MODSEQ (14) FLAGS (\Answered \Draft))
S: b15 OK [MODIFIED 2] Conditional store failed ({*} secs).
C: b16 NOOP
S: b16 OK NOOP completed ({*} secs).
C: b17 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 11)
S: * 1 FETCH (UID 1 FLAGS (\Deleted) MODSEQ (12))
S: * 2 FETCH (UID 2 FLAGS (\Answered \Draft) MODSEQ (14))
S: * 3 FETCH (UID 3 FLAGS (\Deleted) MODSEQ (12))
S: * 7 FETCH (UID 7 FLAGS (\Answered) MODSEQ (13))
S: b17 OK Fetch completed ({*} secs).
C: b18 EXPUNGE
S: * 3 EXPUNGE
S: * 1 EXPUNGE
S: b18 OK Expunge completed ({*} secs).
C: b19 FETCH 1:* (UID MODSEQ)
S: * 1 FETCH (UID 2 MODSEQ (14))
S: * 2 FETCH (UID 4 MODSEQ (10))
S: * 3 FETCH (UID 5 MODSEQ (10))
S: * 4 FETCH (UID 6 MODSEQ (11))
S: * 5 FETCH (UID 7 MODSEQ (13))
S: b19 OK Fetch completed ({*} secs).
C: b19a FETCH 1 BODY[TEXT]
S: * 1 FETCH (FLAGS (\Answered \Seen \Draft) BODY[TEXT] {8}
S: body 2
S: )
S: * 1 FETCH (MODSEQ (16))
S: b19a OK Fetch completed ({*} secs).
C: b20 LOGOUT
S: * BYE Logging out
S: b20 OK Logout completed ({*} secs).
@use two
C: c4 LOGOUT
S: * BYE Logging out
S: c4 OK Logout completed ({*} secs).

