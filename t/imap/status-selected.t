# STATUS on the selected mailbox answers from this session's view: MESSAGES, RECENT,
# UIDNEXT, UNSEEN and SIZE as of the changes it last reported to its client (messages
# another session expunged that it has not reported yet still count, new ones it has not
# reported yet do not), not the mailbox as it is now; and `OK [CLIENTBUG]`.
# Checked against Dovecot 2.3.19.1 with t/oracle/imap-transcript-check.
@connect imap one
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a1 LOGIN alice secret
S: a1 OK [CAPABILITY {*}] Logged in
C: a2 CREATE Box
S: a2 OK Create completed ({*} secs).
@send "a3 APPEND Box (\\Seen) {23+}\r\nSubject: m0\r\n\r\nbody 0\r\n\r\n"
S: a3 OK [APPENDUID {*} 1] Append completed ({*} secs).
@send "a4 APPEND Box {23+}\r\nSubject: m1\r\n\r\nbody 1\r\n\r\n"
S: a4 OK [APPENDUID {*} 2] Append completed ({*} secs).
@send "a5 APPEND Box {23+}\r\nSubject: m2\r\n\r\nbody 2\r\n\r\n"
S: a5 OK [APPENDUID {*} 3] Append completed ({*} secs).
C: a6 SELECT Box
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 3 EXISTS
S: * 3 RECENT
S: * OK [UNSEEN 2] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 4] Predicted next UID
S: a6 OK [READ-WRITE] Select completed ({*} secs).
C: a7 STATUS Box (MESSAGES RECENT UIDNEXT UNSEEN SIZE)
S: * STATUS Box (MESSAGES 3 RECENT 3 UIDNEXT 4 UNSEEN 2 SIZE 69)
S: a7 OK [CLIENTBUG] Status on selected mailbox completed ({*} secs).

# Another session adds a message, marks 2 seen, expunges 1.
@connect imap two
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: b1 LOGIN alice secret
S: b1 OK [CAPABILITY {*}] Logged in
@send "b2 APPEND Box {26+}\r\nSubject: new\r\n\r\nnew body\r\n\r\n"
S: b2 OK [APPENDUID {*} 4] Append completed ({*} secs).
C: b3 SELECT Box
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 4 EXISTS
S: * 1 RECENT
S: * OK [UNSEEN 2] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 5] Predicted next UID
S: b3 OK [READ-WRITE] Select completed ({*} secs).
C: b4 STORE 1 +FLAGS.SILENT (\Deleted)
S: b4 OK Store completed ({*} secs).
C: b5 STORE 2 +FLAGS.SILENT (\Seen)
S: b5 OK Store completed ({*} secs).
C: b6 EXPUNGE
S: * 1 EXPUNGE
S: b6 OK Expunge completed ({*} secs).

# Nothing of that was reported here yet: the same answer, also after a STATUS of another
# mailbox.
@use one
C: a8 STATUS Box (MESSAGES RECENT UIDNEXT UNSEEN SIZE)
S: * STATUS Box (MESSAGES 3 RECENT 3 UIDNEXT 4 UNSEEN 2 SIZE 69)
S: a8 OK [CLIENTBUG] Status on selected mailbox completed ({*} secs).
C: a9 STATUS INBOX (MESSAGES)
S: * STATUS INBOX (MESSAGES 0)
S: a9 OK Status completed ({*} secs).
C: a10 STATUS Box (MESSAGES UIDNEXT UNSEEN)
S: * STATUS Box (MESSAGES 3 UIDNEXT 4 UNSEEN 2)
S: a10 OK [CLIENTBUG] Status on selected mailbox completed ({*} secs).

# FETCH reports the flags and the new message but holds the EXPUNGE back: message 1 still
# counts (its size too), the new one now too.
C: a11 FETCH 3 FLAGS
S: * 3 FETCH (FLAGS (\Recent))
S: * 1 FETCH (FLAGS (\Deleted \Seen \Recent))
S: * 2 FETCH (FLAGS (\Seen \Recent))
S: * 4 EXISTS
S: a11 OK Fetch completed ({*} secs).
C: a12 STATUS Box (MESSAGES RECENT UIDNEXT UNSEEN SIZE)
S: * STATUS Box (MESSAGES 4 RECENT 3 UIDNEXT 5 UNSEEN 2 SIZE 95)
S: a12 OK [CLIENTBUG] Status on selected mailbox completed ({*} secs).

# NOOP reports the EXPUNGE.
C: a13 NOOP
S: * 1 EXPUNGE
S: * 2 RECENT
S: a13 OK NOOP completed ({*} secs).
C: a14 STATUS Box (MESSAGES RECENT UIDNEXT UNSEEN SIZE)
S: * STATUS Box (MESSAGES 3 RECENT 2 UIDNEXT 5 UNSEEN 2 SIZE 72)
S: a14 OK [CLIENTBUG] Status on selected mailbox completed ({*} secs).

# A message added and expunged elsewhere before this session looked: never reported, but
# UIDNEXT moves on.
@use two
@send "b7 APPEND Box {26+}\r\nSubject: new\r\n\r\nnew body\r\n\r\n"
S: * 4 EXISTS
S: * 2 RECENT
S: b7 OK [APPENDUID {*} 5] Append completed ({*} secs).
C: b8 STORE 4 +FLAGS.SILENT (\Deleted)
S: b8 OK Store completed ({*} secs).
C: b9 EXPUNGE
S: * 4 EXPUNGE
S: * 1 RECENT
S: b9 OK Expunge completed ({*} secs).
@use one
C: a15 STATUS Box (MESSAGES UIDNEXT)
S: * STATUS Box (MESSAGES 3 UIDNEXT 5)
S: a15 OK [CLIENTBUG] Status on selected mailbox completed ({*} secs).
C: a16 NOOP
S: a16 OK NOOP completed ({*} secs).
C: a17 STATUS Box (MESSAGES RECENT UIDNEXT UNSEEN SIZE)
S: * STATUS Box (MESSAGES 3 RECENT 2 UIDNEXT 6 UNSEEN 2 SIZE 72)
S: a17 OK [CLIENTBUG] Status on selected mailbox completed ({*} secs).

# Another session's view is its own.
@use two
C: b10 STATUS Box (MESSAGES RECENT UIDNEXT UNSEEN)
S: * STATUS Box (MESSAGES 3 RECENT 1 UIDNEXT 6 UNSEEN 2)
S: b10 OK [CLIENTBUG] Status on selected mailbox completed ({*} secs).
C: b11 LOGOUT
S: * BYE Logging out
S: b11 OK Logout completed ({*} secs).
@eof
@use one
C: a18 LOGOUT
S: * BYE Logging out
S: a18 OK Logout completed ({*} secs).
@eof
