# Messages another session expunged, before this session has told its client: what the
# index cache holds for them is still answered (ENVELOPE and BODYSTRUCTURE once fetched,
# header lines once searched), without `[EXPUNGEISSUED]` when nothing else was missing; what
# is not cached answers empty as in t/imap/expunged-elsewhere.t.
# Checked against Dovecot 2.3.19.1 with t/oracle/imap-transcript-check.
@connect imap one
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a1 LOGIN alice secret
S: a1 OK [CAPABILITY {*}] Logged in
C: a2 CREATE Cached
S: a2 OK Create completed ({*} secs).
@send "a3 APPEND Cached {54+}\r\nSubject: m1\r\nFrom: a@b\r\nMessage-ID: <m1@x>\r\n\r\nbody 1\r\n\r\n"
S: a3 OK [APPENDUID {*} 1] Append completed ({*} secs).
@send "a4 APPEND Cached {54+}\r\nSubject: m2\r\nFrom: a@b\r\nMessage-ID: <m2@x>\r\n\r\nbody 2\r\n\r\n"
S: a4 OK [APPENDUID {*} 2] Append completed ({*} secs).
@send "a5 APPEND Cached {54+}\r\nSubject: m3\r\nFrom: a@b\r\nMessage-ID: <m3@x>\r\n\r\nbody 3\r\n\r\n"
S: a5 OK [APPENDUID {*} 3] Append completed ({*} secs).
C: a6 SELECT Cached
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 3 EXISTS
S: * 3 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 4] Predicted next UID
S: a6 OK [READ-WRITE] Select completed ({*} secs).
C: a7 FETCH 2 (ENVELOPE BODYSTRUCTURE)
S: * 2 FETCH (ENVELOPE (NIL "m2" ((NIL NIL "a" "b")) ((NIL NIL "a" "b")) ((NIL NIL "a" "b")) NIL NIL NIL NIL "<m2@x>") BODYSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 8 1 NIL NIL NIL NIL))
S: a7 OK Fetch completed ({*} secs).
C: a8 SEARCH 2 SUBJECT m2
S: * SEARCH 2
S: a8 OK Search completed ({*} secs).

@connect imap two
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: b1 LOGIN alice secret
S: b1 OK [CAPABILITY {*}] Logged in
C: b2 SELECT Cached
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 3 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 4] Predicted next UID
S: b2 OK [READ-WRITE] Select completed ({*} secs).
C: b3 STORE 2:3 +FLAGS.SILENT (\Deleted)
S: b3 OK Store completed ({*} secs).
C: b4 EXPUNGE
S: * 3 EXPUNGE
S: * 2 EXPUNGE
S: b4 OK Expunge completed ({*} secs).

# Message 2's envelope was cached, message 3's was not.
@use one
C: a9 FETCH 2:3 (ENVELOPE)
S: * 2 FETCH (ENVELOPE (NIL "m2" ((NIL NIL "a" "b")) ((NIL NIL "a" "b")) ((NIL NIL "a" "b")) NIL NIL NIL NIL "<m2@x>"))
S: * 3 FETCH (ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL))
S: * 2 FETCH (FLAGS (\Deleted \Recent))
S: * 3 FETCH (FLAGS (\Deleted \Recent))
S: a9 OK [EXPUNGEISSUED] Some messages were already expunged ({*} secs).
C: a10 FETCH 2 (UID FLAGS ENVELOPE BODYSTRUCTURE)
S: * 2 FETCH (UID 2 FLAGS (\Deleted \Recent) ENVELOPE (NIL "m2" ((NIL NIL "a" "b")) ((NIL NIL "a" "b")) ((NIL NIL "a" "b")) NIL NIL NIL NIL "<m2@x>") BODYSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 8 1 NIL NIL NIL NIL))
S: a10 OK Fetch completed ({*} secs).
C: a11 FETCH 2 (BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[TEXT])
S: * 2 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {15}
S: Subject: m2
S: 
S:  BODY[TEXT] NIL)
S: a11 OK [EXPUNGEISSUED] Some messages were already expunged ({*} secs).
C: a12 SEARCH 2 SUBJECT m2
S: * SEARCH 2
S: a12 OK Search completed ({*} secs).
C: a13 NOOP
S: * 3 EXPUNGE
S: * 2 EXPUNGE
S: * 1 RECENT
S: a13 OK NOOP completed ({*} secs).
C: a14 LOGOUT
S: * BYE Logging out
S: a14 OK Logout completed ({*} secs).
@eof
@use two
C: b5 LOGOUT
S: * BYE Logging out
S: b5 OK Logout completed ({*} secs).
@eof
