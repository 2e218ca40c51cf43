# STATUS=SIZE (RFC 8438): STATUS (SIZE) is the total RFC822.SIZE of a mailbox's messages;
# with the other items, in LIST-STATUS, for an empty mailbox, for the selected one.
# Checked against Dovecot 2.3.19.1 with t/oracle/imap-transcript-check.
@connect imap one
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a1 LOGIN alice secret
S: a1 OK [CAPABILITY {*}] Logged in
C: a2 CREATE Sized
S: a2 OK Create completed ({*} secs).
C: a2b CREATE Empty
S: a2b OK Create completed ({*} secs).
@send "a3 APPEND Sized (\\Seen) {27+}\r\nSubject: m1\r\n\r\nxxxxxxxxxx\r\n\r\n"
S: a3 OK [APPENDUID {*} 1] Append completed ({*} secs).
@send "a4 APPEND Sized {37+}\r\nSubject: m2\r\n\r\nxxxxxxxxxxxxxxxxxxxx\r\n\r\n"
S: a4 OK [APPENDUID {*} 2] Append completed ({*} secs).
@send "a5 APPEND Sized {47+}\r\nSubject: m3\r\n\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n\r\n"
S: a5 OK [APPENDUID {*} 3] Append completed ({*} secs).
C: b1 STATUS Sized (SIZE)
S: * STATUS Sized (SIZE 111)
S: b1 OK Status completed ({*} secs).
C: b2 STATUS Sized (MESSAGES UNSEEN SIZE)
S: * STATUS Sized (MESSAGES 3 UNSEEN 2 SIZE 111)
S: b2 OK Status completed ({*} secs).
C: b3 STATUS Empty (SIZE MESSAGES)
S: * STATUS Empty (MESSAGES 0 SIZE 0)
S: b3 OK Status completed ({*} secs).
C: b4 STATUS Sized (size)
S: * STATUS Sized (SIZE 111)
S: b4 OK Status completed ({*} secs).
C: b5 FETCH 1 RFC822.SIZE
S: b5 BAD No mailbox selected ({*} secs).
C: b6 LIST "" "S*" RETURN (STATUS (SIZE MESSAGES))
S: * LIST () "{*}" Sized
S: * STATUS Sized (MESSAGES 3 SIZE 111)
S: b6 OK List completed ({*} secs).
C: b7 STATUS Sized (SIZE X)
S: b7 BAD Error in IMAP command STATUS: Invalid status item X ({*} secs).
C: b8 STATUS Nowhere (SIZE)
S: b8 NO Mailbox doesn't exist: Nowhere ({*} secs).
C: b9 SELECT Sized
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 3 EXISTS
S: * 3 RECENT
S: * OK [UNSEEN 2] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 4] Predicted next UID
S: b9 OK [READ-WRITE] Select completed ({*} secs).
C: b10 FETCH 1:3 RFC822.SIZE
S: * 1 FETCH (RFC822.SIZE 27)
S: * 2 FETCH (RFC822.SIZE 37)
S: * 3 FETCH (RFC822.SIZE 47)
S: b10 OK Fetch completed ({*} secs).
C: b11 STORE 3 +FLAGS.SILENT (\Deleted)
S: b11 OK Store completed ({*} secs).
C: b12 EXPUNGE
S: * 3 EXPUNGE
S: * 2 RECENT
S: b12 OK Expunge completed ({*} secs).
C: b13 STATUS Sized (SIZE)
S: * STATUS Sized (SIZE 64)
S: b13 OK [CLIENTBUG] Status on selected mailbox completed ({*} secs).
C: b14 LOGOUT
S: * BYE Logging out
S: b14 OK Logout completed ({*} secs).
@eof
