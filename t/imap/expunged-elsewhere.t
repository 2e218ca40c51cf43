# Messages another session (another process) expunged, before this session has told its
# client: until the EXPUNGE goes out they keep their numbers and show their last flags
# (STORE and a FETCH's \Seen change them as this session shows them); what only the message
# held answers empty (BODY[] NIL, ENVELOPE of NILs, RFC822.SIZE 0 ...) with
# `OK [EXPUNGEISSUED]`; COPY copies nothing and says `NO [EXPUNGEISSUED]` after the EXPUNGEs.
# Checked against Dovecot 2.3.19.1 with t/oracle/imap-transcript-check.
# Not asked here: what the index cache holds for such a message is answered from it
# (t/imap/expunged-elsewhere-cached.t). Dovecot also has BODY and BODYSTRUCTURE of every
# message it saved itself (it caches the MIME structure when saving), and INTERNALDATE and
# SAVEDATE once fetched; cote caches a structure only once fetched and keeps the dates in the
# index, so it answers those empty here.
@connect imap one
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a1 LOGIN alice secret
S: a1 OK [CAPABILITY {*}] Logged in
C: a2 CREATE Gone
S: a2 OK Create completed ({*} secs).
C: a3 CREATE Gone2
S: a3 OK Create completed ({*} secs).
@send "a4 APPEND Gone {34+}\r\nSubject: m1\r\nFrom: a@b\r\n\r\nbody 1\r\n\r\n"
S: a4 OK [APPENDUID {*} 1] Append completed ({*} secs).
@send "a5 APPEND Gone (\\Seen) {34+}\r\nSubject: m2\r\nFrom: a@b\r\n\r\nbody 2\r\n\r\n"
S: a5 OK [APPENDUID {*} 2] Append completed ({*} secs).
@send "a6 APPEND Gone {34+}\r\nSubject: m3\r\nFrom: a@b\r\n\r\nbody 3\r\n\r\n"
S: a6 OK [APPENDUID {*} 3] Append completed ({*} secs).
@send "a7 APPEND Gone {34+}\r\nSubject: m4\r\nFrom: a@b\r\n\r\nbody 4\r\n\r\n"
S: a7 OK [APPENDUID {*} 4] Append completed ({*} secs).
@send "a8 APPEND Gone {34+}\r\nSubject: m5\r\nFrom: a@b\r\n\r\nbody 5\r\n\r\n"
S: a8 OK [APPENDUID {*} 5] Append completed ({*} secs).
C: a9 SELECT Gone
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 5 EXISTS
S: * 5 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 6] Predicted next UID
S: a9 OK [READ-WRITE] Select completed ({*} secs).

# The other session flags 2 and 3, then expunges 2, 3 and 4.
@connect imap two
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: b1 LOGIN alice secret
S: b1 OK [CAPABILITY {*}] Logged in
C: b2 SELECT Gone
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 5 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 6] Predicted next UID
S: b2 OK [READ-WRITE] Select completed ({*} secs).
C: b3 STORE 2:3 +FLAGS (\Flagged)
S: * 2 FETCH (FLAGS (\Flagged \Seen))
S: * 3 FETCH (FLAGS (\Flagged))
S: b3 OK Store completed ({*} secs).
C: b4 STORE 2:4 +FLAGS.SILENT (\Deleted)
S: b4 OK Store completed ({*} secs).
C: b5 EXPUNGE
S: * 4 EXPUNGE
S: * 3 EXPUNGE
S: * 2 EXPUNGE
S: b5 OK Expunge completed ({*} secs).

# FLAGS is what the view holds: no EXPUNGEISSUED. The flag changes follow as updates.
@use one
C: a10 FETCH 2 (FLAGS)
S: * 2 FETCH (FLAGS (\Flagged \Deleted \Seen \Recent))
S: * 2 FETCH (FLAGS (\Flagged \Deleted \Seen \Recent))
S: * 3 FETCH (FLAGS (\Flagged \Deleted \Recent))
S: * 4 FETCH (FLAGS (\Deleted \Recent))
S: a10 OK Fetch completed ({*} secs).

# Every item Dovecot has an empty answer for (RFC822 sets \Seen, in the view).
C: a11 FETCH 3 (ENVELOPE RFC822.SIZE INTERNALDATE RFC822 RFC822.HEADER RFC822.TEXT BINARY[] BINARY.SIZE[] BODY.PEEK[]<0.5> X-GUID SAVEDATE)
S: * 3 FETCH (RFC822.SIZE 0 INTERNALDATE "01-Jan-1970 00:00:00 +0000" X-GUID  SAVEDATE NIL FLAGS (\Flagged \Deleted \Seen \Recent) ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) RFC822 NIL RFC822.HEADER NIL RFC822.TEXT NIL BINARY[] NIL BINARY.SIZE[] 0 BODY[]<0> NIL)
S: a11 OK [EXPUNGEISSUED] Some messages were already expunged ({*} secs).

# BODY[] sets \Seen (in the view) and answers NIL.
C: a12 FETCH 4 (BODY[])
S: * 4 FETCH (FLAGS (\Deleted \Seen \Recent) BODY[] NIL)
S: a12 OK [EXPUNGEISSUED] Some messages were already expunged ({*} secs).
C: a13 FETCH 1:5 (UID FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])
S: * 1 FETCH (UID 1 FLAGS (\Recent) BODY[HEADER.FIELDS (SUBJECT)] {15}
S: Subject: m1
S: 
S: )
S: * 2 FETCH (UID 2 FLAGS (\Flagged \Deleted \Seen \Recent) BODY[HEADER.FIELDS (SUBJECT)] NIL)
S: * 3 FETCH (UID 3 FLAGS (\Flagged \Deleted \Seen \Recent) BODY[HEADER.FIELDS (SUBJECT)] NIL)
S: * 4 FETCH (UID 4 FLAGS (\Deleted \Seen \Recent) BODY[HEADER.FIELDS (SUBJECT)] NIL)
S: * 5 FETCH (UID 5 FLAGS (\Recent) BODY[HEADER.FIELDS (SUBJECT)] {15}
S: Subject: m5
S: 
S: )
S: a13 OK [EXPUNGEISSUED] Some messages were already expunged ({*} secs).

# STORE changes them as this session shows them.
C: a14 STORE 3 +FLAGS (\Answered)
S: * 3 FETCH (FLAGS (\Answered \Flagged \Deleted \Seen \Recent))
S: a14 OK Store completed ({*} secs).
C: a15 STORE 1:5 -FLAGS (\Flagged)
S: * 2 FETCH (FLAGS (\Deleted \Seen \Recent))
S: * 3 FETCH (FLAGS (\Answered \Deleted \Seen \Recent))
S: a15 OK Store completed ({*} secs).

# SEARCH sees them; a key that needs the message loses them (EXPUNGEISSUED). UID SEARCH
# with a set still holds the EXPUNGEs back.
C: a16 SEARCH DELETED
S: * SEARCH 2 3 4
S: a16 OK Search completed ({*} secs).
C: a17 SEARCH BODY body
S: * SEARCH 1 5
S: a17 OK [EXPUNGEISSUED] Search completed ({*} secs).
C: a18 UID SEARCH UID 1:3
S: * SEARCH 1 2 3
S: a18 OK Search completed ({*} secs).

# COPY copies nothing when any of them is gone; the EXPUNGEs go out first.
C: a19 COPY 1:2 Gone2
S: * 4 EXPUNGE
S: * 3 EXPUNGE
S: * 2 EXPUNGE
S: * 2 RECENT
S: a19 NO [EXPUNGEISSUED] Some of the requested messages no longer exist ({*} secs).
C: a20 STATUS Gone2 (MESSAGES)
S: * STATUS Gone2 (MESSAGES 0)
S: a20 OK Status completed ({*} secs).
C: a21 COPY 1:2 Gone2
S: a21 OK [COPYUID {*} 1,5 1:2] Copy completed ({*} secs).

# UID STORE on a gone message: its EXPUNGE follows at once, and no FETCH for it.
@use two
C: b6 STORE 1 +FLAGS.SILENT (\Deleted)
S: b6 OK Store completed ({*} secs).
C: b7 EXPUNGE
S: * 1 EXPUNGE
S: b7 OK Expunge completed ({*} secs).
@use one
C: a22 UID STORE 1 +FLAGS (\Answered)
S: * 1 EXPUNGE
S: * 1 RECENT
S: a22 OK Store completed ({*} secs).
C: a23 FETCH 1:* (UID FLAGS)
S: * 1 FETCH (UID 5 FLAGS (\Recent))
S: a23 OK Fetch completed ({*} secs).
C: a24 LOGOUT
S: * BYE Logging out
S: a24 OK Logout completed ({*} secs).
@eof
@use two
C: b8 LOGOUT
S: * BYE Logging out
S: b8 OK Logout completed ({*} secs).
@eof
