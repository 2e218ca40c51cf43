# WITHIN (RFC 5032): OLDER n and YOUNGER n compare INTERNALDATE with now - n seconds.
# Messages 1-3 are dated 2001, 4-5 are saved now (no date given): an hour splits them.
# Checked against Dovecot 2.3.19.1 with t/oracle/imap-transcript-check.
@connect imap one
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a1 LOGIN alice secret
S: a1 OK [CAPABILITY {*}] Logged in
C: a2 CREATE Within
S: a2 OK Create completed ({*} secs).
@send "a3 APPEND Within \"01-Jan-2001 12:00:00 +0000\" {23+}\r\nSubject: m1\r\n\r\nbody 1\r\n\r\n"
S: a3 OK [APPENDUID {*} 1] Append completed ({*} secs).
@send "a4 APPEND Within \"01-Jan-2001 12:00:00 +0000\" {23+}\r\nSubject: m2\r\n\r\nbody 2\r\n\r\n"
S: a4 OK [APPENDUID {*} 2] Append completed ({*} secs).
@send "a5 APPEND Within \"01-Jan-2001 12:00:00 +0000\" {23+}\r\nSubject: m3\r\n\r\nbody 3\r\n\r\n"
S: a5 OK [APPENDUID {*} 3] Append completed ({*} secs).
@send "a6 APPEND Within {23+}\r\nSubject: m4\r\n\r\nbody 4\r\n\r\n"
S: a6 OK [APPENDUID {*} 4] Append completed ({*} secs).
@send "a7 APPEND Within {23+}\r\nSubject: m5\r\n\r\nbody 5\r\n\r\n"
S: a7 OK [APPENDUID {*} 5] Append completed ({*} secs).
C: a9 SELECT Within
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 5 EXISTS
S: * 5 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 6] Predicted next UID
S: a9 OK [READ-WRITE] Select completed ({*} secs).
C: b1 SEARCH OLDER 3600
S: * SEARCH 1 2 3
S: b1 OK Search completed ({*} secs).
C: b2 SEARCH YOUNGER 3600
S: * SEARCH 4 5
S: b2 OK Search completed ({*} secs).
C: b3 UID SEARCH NOT YOUNGER 3600 2:5
S: * SEARCH 2 3
S: b3 OK Search completed ({*} secs).
C: b4 SEARCH OR OLDER 3600 YOUNGER 60
S: * SEARCH 1 2 3 4 5
S: b4 OK Search completed ({*} secs).
# The RFC's example: YOUNGER with a large interval (two years reaches back to none of 2001).
C: b5 SEARCH UNSEEN YOUNGER 63072000
S: * SEARCH 4 5
S: b5 OK Search completed ({*} secs).
C: b6 SEARCH RETURN (COUNT) YOUNGER 4294967295
S: * ESEARCH (TAG "b6") COUNT 5
S: b6 OK Search completed ({*} secs).
# Errors: zero, negative, not a number, too large, missing.
C: b7 SEARCH OLDER 0
S: b7 BAD Error in IMAP command SEARCH: Invalid search interval parameter ({*} secs).
C: b8 SEARCH YOUNGER -1
S: b8 BAD Error in IMAP command SEARCH: Invalid search interval parameter ({*} secs).
C: b9 SEARCH YOUNGER x
S: b9 BAD Error in IMAP command SEARCH: Invalid search interval parameter ({*} secs).
C: b10 SEARCH OLDER 4294967296
S: b10 BAD Error in IMAP command SEARCH: Invalid search interval parameter ({*} secs).
C: b11 SEARCH OLDER
S: b11 BAD Error in IMAP command SEARCH: Missing parameter for search key (for search key: OLDER) ({*} secs).
C: b12 LOGOUT
S: * BYE Logging out
S: b12 OK Logout completed ({*} secs).
@eof
