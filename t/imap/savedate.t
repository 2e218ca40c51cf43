# SAVEDATE (RFC 8514): FETCH SAVEDATE is when the message was saved into the mailbox (not
# its INTERNALDATE); SAVEDBEFORE/SAVEDON/SAVEDSINCE search it; SAVEDATESUPPORTED matches
# every message of a mailbox that keeps save dates (all of them here).
# Checked against Dovecot 2.3.19.1 with t/oracle/imap-transcript-check.
@connect imap one
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a1 LOGIN alice secret
S: a1 OK [CAPABILITY {*}] Logged in
C: a2 CREATE Saved
S: a2 OK Create completed ({*} secs).
@send "a3 APPEND Saved \"01-Jan-2001 12:00:00 +0000\" {23+}\r\nSubject: m1\r\n\r\nbody 1\r\n\r\n"
S: a3 OK [APPENDUID {*} 1] Append completed ({*} secs).
@send "a4 APPEND Saved \"01-Jan-2001 12:00:00 +0000\" {23+}\r\nSubject: m2\r\n\r\nbody 2\r\n\r\n"
S: a4 OK [APPENDUID {*} 2] Append completed ({*} secs).
@send "a5 APPEND Saved \"01-Jan-2001 12:00:00 +0000\" {23+}\r\nSubject: m3\r\n\r\nbody 3\r\n\r\n"
S: a5 OK [APPENDUID {*} 3] Append completed ({*} secs).
C: a9 SELECT Saved
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 3 EXISTS
S: * 3 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 4] Predicted next UID
S: a9 OK [READ-WRITE] Select completed ({*} secs).
C: b1 FETCH 1:3 (INTERNALDATE)
S: * 1 FETCH (INTERNALDATE "01-Jan-2001 12:00:00 +0000")
S: * 2 FETCH (INTERNALDATE "01-Jan-2001 12:00:00 +0000")
S: * 3 FETCH (INTERNALDATE "01-Jan-2001 12:00:00 +0000")
S: b1 OK Fetch completed ({*} secs).
C: b2 FETCH 2 (SAVEDATE)
S: * 2 FETCH (SAVEDATE "{*}-20{*} {*} {*}")
S: b2 OK Fetch completed ({*} secs).
C: b3 UID FETCH 3 (UID SAVEDATE FLAGS)
S: * 3 FETCH (UID 3 SAVEDATE "{*}" FLAGS (\Recent))
S: b3 OK Fetch completed ({*} secs).
C: b4 SEARCH SAVEDATESUPPORTED
S: * SEARCH 1 2 3
S: b4 OK Search completed ({*} secs).
C: b5 SEARCH SAVEDSINCE 1-Jan-2002
S: * SEARCH 1 2 3
S: b5 OK Search completed ({*} secs).
C: b6 SEARCH SAVEDBEFORE 1-Jan-2002
S: * SEARCH
S: b6 OK Search completed ({*} secs).
C: b7 SEARCH SAVEDON 1-Jan-2001
S: * SEARCH
S: b7 OK Search completed ({*} secs).
C: b8 SEARCH BEFORE 1-Jan-2002
S: * SEARCH 1 2 3
S: b8 OK Search completed ({*} secs).
C: b9 SEARCH OR SAVEDBEFORE 1-Jan-2002 2
S: * SEARCH 2
S: b9 OK Search completed ({*} secs).
C: b10 SEARCH SAVEDBEFORE 2002-01-01
S: b10 BAD Error in IMAP command SEARCH: Invalid search date parameter ({*} secs).
C: b11 SEARCH SAVEDON
S: b11 BAD Error in IMAP command SEARCH: Missing parameter for search key (for search key: SAVEDON) ({*} secs).
# COPY saves anew: the copy's save date is its own (and INTERNALDATE stays).
C: b12 COPY 1 INBOX
S: b12 OK [COPYUID {*} 1 1] Copy completed ({*} secs).
C: b13 LOGOUT
S: * BYE Logging out
S: b13 OK Logout completed ({*} secs).
@eof
