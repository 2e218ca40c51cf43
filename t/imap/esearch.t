# ESEARCH (RFC 4731): SEARCH RETURN (MIN MAX ALL COUNT), UID SEARCH answered with UID, the
# command's tag as correlator; the RFC's examples (section 3.1) on a mailbox made for them.
# Checked against Dovecot 2.3.19.1 with t/oracle/imap-transcript-check.
@connect imap one
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a1 LOGIN alice secret
S: a1 OK [CAPABILITY {*}] Logged in
C: a2 CREATE Rfc4731
S: a2 OK Create completed ({*} secs).
@send "a3 APPEND Rfc4731 (\\Flagged) \"01-Jan-1993 12:00:00 +0000\" {61+}\r\nFrom: User 1 <u1@example.com>\r\nSubject: message 1\r\n\r\nbody 1\r\n\r\n"
S: a3 OK [APPENDUID {*} 1] Append completed ({*} secs).
@send "a4 APPEND Rfc4731 (\\Flagged) \"01-Mar-1995 12:00:00 +0000\" {61+}\r\nFrom: User 2 <u2@example.com>\r\nSubject: message 2\r\n\r\nbody 2\r\n\r\n"
S: a4 OK [APPENDUID {*} 2] Append completed ({*} secs).
@send "a5 APPEND Rfc4731 (\\Flagged) \"01-Mar-1995 12:00:00 +0000\" {63+}\r\nFrom: Smith <smith@example.com>\r\nSubject: message 3\r\n\r\nbody 3\r\n\r\n"
S: a5 OK [APPENDUID {*} 3] Append completed ({*} secs).
@send "a6 APPEND Rfc4731 \"01-Mar-1995 12:00:00 +0000\" {61+}\r\nFrom: User 4 <u4@example.com>\r\nSubject: message 4\r\n\r\nbody 4\r\n\r\n"
S: a6 OK [APPENDUID {*} 4] Append completed ({*} secs).
@send "a7 APPEND Rfc4731 \"01-Mar-1995 12:00:00 +0000\" {61+}\r\nFrom: User 5 <u5@example.com>\r\nSubject: message 5\r\n\r\nbody 5\r\n\r\n"
S: a7 OK [APPENDUID {*} 5] Append completed ({*} secs).
@send "a8 APPEND Rfc4731 \"01-Mar-1995 12:00:00 +0000\" {61+}\r\nFrom: User 6 <u6@example.com>\r\nSubject: message 6\r\n\r\nbody 6\r\n\r\n"
S: a8 OK [APPENDUID {*} 6] Append completed ({*} secs).
@send "a9 APPEND Rfc4731 \"01-Mar-1995 12:00:00 +0000\" {61+}\r\nFrom: User 7 <u7@example.com>\r\nSubject: message 7\r\n\r\nbody 7\r\n\r\n"
S: a9 OK [APPENDUID {*} 7] Append completed ({*} secs).
@send "a10 APPEND Rfc4731 \"01-Mar-1995 12:00:00 +0000\" {61+}\r\nFrom: User 8 <u8@example.com>\r\nSubject: message 8\r\n\r\nbody 8\r\n\r\n"
S: a10 OK [APPENDUID {*} 8] Append completed ({*} secs).
@send "a11 APPEND Rfc4731 \"01-Mar-1995 12:00:00 +0000\" {61+}\r\nFrom: User 9 <u9@example.com>\r\nSubject: message 9\r\n\r\nbody 9\r\n\r\n"
S: a11 OK [APPENDUID {*} 9] Append completed ({*} secs).
@send "a12 APPEND Rfc4731 (\\Flagged) \"01-Mar-1995 12:00:00 +0000\" {65+}\r\nFrom: User 10 <u10@example.com>\r\nSubject: message 10\r\n\r\nbody 10\r\n\r\n"
S: a12 OK [APPENDUID {*} 10] Append completed ({*} secs).
@send "a13 APPEND Rfc4731 (\\Flagged) \"01-Mar-1995 12:00:00 +0000\" {65+}\r\nFrom: User 11 <u11@example.com>\r\nSubject: message 11\r\n\r\nbody 11\r\n\r\n"
S: a13 OK [APPENDUID {*} 11] Append completed ({*} secs).
@send "a14 APPEND Rfc4731 \"01-Mar-1995 12:00:00 +0000\" {65+}\r\nFrom: User 12 <u12@example.com>\r\nSubject: message 12\r\n\r\nbody 12\r\n\r\n"
S: a14 OK [APPENDUID {*} 12] Append completed ({*} secs).
C: a15 SELECT Rfc4731
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 12 EXISTS
S: * 12 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 13] Predicted next UID
S: a15 OK [READ-WRITE] Select completed ({*} secs).

# The RFC's examples.
C: A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"
S: * ESEARCH (TAG "A282") MIN 2 COUNT 3
S: A282 OK Search completed ({*} secs).
C: A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"
S: * ESEARCH (TAG "A283") ALL 2,10:11
S: A283 OK Search completed ({*} secs).
C: A284 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith" SUBJECT nowhere
S: * ESEARCH (TAG "A284") COUNT 0
S: A284 OK Search completed ({*} secs).
C: A285 UID SEARCH RETURN (MIN MAX) 1:12
S: * ESEARCH (TAG "A285") UID MIN 1 MAX 12
S: A285 OK Search completed ({*} secs).
C: A286 SEARCH RETURN (MIN MAX) SUBJECT nowhere
S: * ESEARCH (TAG "A286")
S: A286 OK Search completed ({*} secs).

# Every option at once, in Dovecot's order whatever the request's; ALL with ranges.
C: b1 SEARCH RETURN (COUNT ALL MAX MIN) NOT 4:9
S: * ESEARCH (TAG "b1") MIN 1 MAX 12 ALL 1:3,10:12 COUNT 6
S: b1 OK Search completed ({*} secs).
C: b2 UID SEARCH RETURN (ALL) UID 3:5,9
S: * ESEARCH (TAG "b2") UID ALL 3:5,9
S: b2 OK Search completed ({*} secs).
C: b3 UID SEARCH RETURN (COUNT) UNFLAGGED
S: * ESEARCH (TAG "b3") UID COUNT 7
S: b3 OK Search completed ({*} secs).
C: b4 SEARCH RETURN (ALL) SUBJECT nowhere
S: * ESEARCH (TAG "b4")
S: b4 OK Search completed ({*} secs).

# RETURN before CHARSET; without RETURN the answer is SEARCH; errors.
C: b5 SEARCH RETURN (COUNT) CHARSET UTF-8 SUBJECT message
S: * ESEARCH (TAG "b5") COUNT 12
S: b5 OK Search completed ({*} secs).
C: b6 SEARCH FLAGGED
S: * SEARCH 1 2 3 10 11
S: b6 OK Search completed ({*} secs).
C: b7 SEARCH RETURN (MINIMUM) ALL
S: b7 BAD Error in IMAP command SEARCH: Unknown SEARCH return option ({*} secs).
C: b8 SEARCH RETURN MIN ALL
S: b8 BAD Error in IMAP command SEARCH: Unknown argument RETURN ({*} secs).
C: b9 SEARCH RETURN (MIN)
S: b9 BAD Error in IMAP command SEARCH: Missing search parameters ({*} secs).

# The tag is written as a string.
C: x.y SEARCH RETURN (MIN) ALL
S: * ESEARCH (TAG "x.y") MIN 1
S: x.y OK Search completed ({*} secs).

# Messages another session expunged still count until this session reports them.
@connect imap two
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: c1 LOGIN alice secret
S: c1 OK [CAPABILITY {*}] Logged in
C: c2 SELECT Rfc4731
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 12 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 13] Predicted next UID
S: c2 OK [READ-WRITE] Select completed ({*} secs).
C: c3 STORE 12 +FLAGS.SILENT (\Deleted)
S: c3 OK Store completed ({*} secs).
C: c4 EXPUNGE
S: * 12 EXPUNGE
S: c4 OK Expunge completed ({*} secs).
C: c5 LOGOUT
S: * BYE Logging out
S: c5 OK Logout completed ({*} secs).
@eof
@use one
C: b10 SEARCH RETURN (MAX COUNT) ALL
S: * ESEARCH (TAG "b10") MAX 12 COUNT 12
S: * 12 FETCH (FLAGS (\Deleted \Recent))
S: b10 OK Search completed ({*} secs).
C: b11 NOOP
S: * 12 EXPUNGE
S: * 11 RECENT
S: b11 OK NOOP completed ({*} secs).
C: b12 SEARCH RETURN (MAX COUNT) ALL
S: * ESEARCH (TAG "b12") MAX 11 COUNT 11
S: b12 OK Search completed ({*} secs).
C: b13 LOGOUT
S: * BYE Logging out
S: b13 OK Logout completed ({*} secs).
@eof
