# SEARCHRES (RFC 5182): SEARCH RETURN (SAVE) keeps the result as `$`, usable as a message
# set by later commands (FETCH, STORE, COPY, SEARCH, UID forms); what is saved with MIN/MAX;
# `$` is emptied by SELECT/EXAMINE/UNSELECT and by a SAVE search that fails (BADCHARSET),
# not by a syntax error; expunged messages leave it. The RFC's examples (section 3).
# Checked against Dovecot 2.3.19.1 with t/oracle/imap-transcript-check.
@connect imap one
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a1 LOGIN alice secret
S: a1 OK [CAPABILITY {*}] Logged in
C: a2 CREATE Res
S: a2 OK Create completed ({*} secs).
C: a2b CREATE Other
S: a2b OK Create completed ({*} secs).
@send "a3 APPEND Res \"01-Jan-2006 12:00:00 +0000\" {52+}\r\nFrom: u1@example.com\r\nSubject: message 1\r\n\r\nbody 1\r\n\r\n"
S: a3 OK [APPENDUID {*} 1] Append completed ({*} secs).
@send "a4 APPEND Res (\\Flagged) \"01-Jan-2006 12:00:00 +0000\" {52+}\r\nFrom: u2@example.com\r\nSubject: message 2\r\n\r\nbody 2\r\n\r\n"
S: a4 OK [APPENDUID {*} 2] Append completed ({*} secs).
@send "a5 APPEND Res \"28-Oct-2006 12:00:00 +0000\" {52+}\r\nFrom: u3@example.com\r\nSubject: message 3\r\n\r\nbody 3\r\n\r\n"
S: a5 OK [APPENDUID {*} 3] Append completed ({*} secs).
@send "a6 APPEND Res (\\Flagged) \"28-Oct-2006 12:00:00 +0000\" {52+}\r\nFrom: u4@example.com\r\nSubject: message 4\r\n\r\nbody 4\r\n\r\n"
S: a6 OK [APPENDUID {*} 4] Append completed ({*} secs).
@send "a7 APPEND Res (\\Flagged) \"28-Oct-2006 12:00:00 +0000\" {52+}\r\nFrom: u5@example.com\r\nSubject: message 5\r\n\r\nbody 5\r\n\r\n"
S: a7 OK [APPENDUID {*} 5] Append completed ({*} secs).
@send "a8 APPEND Res \"01-Jan-2006 12:00:00 +0000\" {52+}\r\nFrom: u6@example.com\r\nSubject: message 6\r\n\r\nbody 6\r\n\r\n"
S: a8 OK [APPENDUID {*} 6] Append completed ({*} secs).
@send "a9 APPEND Res \"01-Jan-2006 12:00:00 +0000\" {52+}\r\nFrom: u7@example.com\r\nSubject: message 7\r\n\r\nbody 7\r\n\r\n"
S: a9 OK [APPENDUID {*} 7] Append completed ({*} secs).
@send "a10 APPEND Res (\\Flagged) \"01-Jan-2006 12:00:00 +0000\" {52+}\r\nFrom: u8@example.com\r\nSubject: message 8\r\n\r\nbody 8\r\n\r\n"
S: a10 OK [APPENDUID {*} 8] Append completed ({*} secs).
C: a20 SELECT Res
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 8 EXISTS
S: * 8 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 9] Predicted next UID
S: a20 OK [READ-WRITE] Select completed ({*} secs).

# Example 1: SAVE, then FETCH and STORE of `$`.
C: E1 SEARCH RETURN (SAVE) SINCE 28-Oct-2006 NOT SINCE 29-Oct-2006
S: E1 OK Search completed ({*} secs).
C: E2 FETCH $ (UID FLAGS)
S: * 3 FETCH (UID 3 FLAGS (\Recent))
S: * 4 FETCH (UID 4 FLAGS (\Flagged \Recent))
S: * 5 FETCH (UID 5 FLAGS (\Flagged \Recent))
S: E2 OK Fetch completed ({*} secs).
C: E3 STORE $ +FLAGS (\Answered)
S: * 3 FETCH (FLAGS (\Answered \Recent))
S: * 4 FETCH (FLAGS (\Answered \Flagged \Recent))
S: * 5 FETCH (FLAGS (\Answered \Flagged \Recent))
S: E3 OK Store completed ({*} secs).

# Example 2: `$` in a search program (with OR), and in UID commands.
C: A281 UID SEARCH RETURN (SAVE) FLAGGED
S: A281 OK Search completed ({*} secs).
C: A282 UID SEARCH OR $ 1:2
S: * SEARCH 1 2 4 5 8
S: A282 OK Search completed ({*} secs).
C: A283 UID FETCH $ (UID)
S: * 2 FETCH (UID 2)
S: * 4 FETCH (UID 4)
S: * 5 FETCH (UID 5)
S: * 8 FETCH (UID 8)
S: A283 OK Fetch completed ({*} secs).
C: A284 UID COPY $ Other
S: A284 OK [COPYUID {*} 2,4:5,8 1:4] Copy completed ({*} secs).
C: A285 SEARCH UID $ NOT 8
S: * SEARCH 2 4 5
S: A285 OK Search completed ({*} secs).

# With MIN or MAX alone only those are saved; with COUNT or ALL everything.
C: b1 SEARCH RETURN (SAVE MIN) FLAGGED
S: * ESEARCH (TAG "b1") MIN 2
S: b1 OK Search completed ({*} secs).
C: b2 FETCH $ (UID)
S: * 2 FETCH (UID 2)
S: b2 OK Fetch completed ({*} secs).
C: b3 SEARCH RETURN (SAVE MIN MAX) FLAGGED
S: * ESEARCH (TAG "b3") MIN 2 MAX 8
S: b3 OK Search completed ({*} secs).
C: b4 FETCH $ (UID)
S: * 2 FETCH (UID 2)
S: * 8 FETCH (UID 8)
S: b4 OK Fetch completed ({*} secs).
C: b5 SEARCH RETURN (SAVE MAX COUNT) FLAGGED
S: * ESEARCH (TAG "b5") MAX 8 COUNT 4
S: b5 OK Search completed ({*} secs).
C: b6 SEARCH $
S: * SEARCH 2 4 5 8
S: b6 OK Search completed ({*} secs).
# With PARTIAL: MIN's and the range; with COUNT too, all of them.
C: b6a SEARCH RETURN (SAVE MIN PARTIAL 3:4) ALL
S: * ESEARCH (TAG "b6a") MIN 1 PARTIAL (3:4 3:4)
S: b6a OK Search completed ({*} secs).
C: b6b SEARCH $
S: * SEARCH 1 3 4
S: b6b OK Search completed ({*} secs).
C: b6c SEARCH RETURN (SAVE COUNT PARTIAL 1:1) FLAGGED
S: * ESEARCH (TAG "b6c") PARTIAL (1:1 2) COUNT 4
S: b6c OK Search completed ({*} secs).
C: b6d SEARCH $
S: * SEARCH 2 4 5 8
S: b6d OK Search completed ({*} secs).

# A search that uses `$` and saves: `$` is read before it is replaced.
C: b7 SEARCH RETURN (SAVE) $ ANSWERED
S: b7 OK Search completed ({*} secs).
C: b8 SEARCH $
S: * SEARCH 4 5
S: b8 OK Search completed ({*} secs).

# A syntax error leaves `$` as it was; a failed search with SAVE empties it.
C: b9 SEARCH RETURN (SAVE) FOO
S: b9 BAD Error in IMAP command SEARCH: Unknown argument FOO ({*} secs).
C: b10 SEARCH $
S: * SEARCH 4 5
S: b10 OK Search completed ({*} secs).
C: b11 SEARCH RETURN (SAVE) CHARSET X-NOSUCH TEXT x
S: b11 NO [BADCHARSET] Unknown charset ({*} secs).
C: b12 SEARCH $
S: * SEARCH
S: b12 OK Search completed ({*} secs).
C: b13 SEARCH RETURN (SAVE) CHARSET X-NOSUCH TEXT x
S: b13 NO [BADCHARSET] Unknown charset ({*} secs).

# Expunged messages leave `$`.
C: c1 SEARCH RETURN (SAVE) FLAGGED
S: c1 OK Search completed ({*} secs).
C: c2 STORE 4 +FLAGS.SILENT (\Deleted)
S: c2 OK Store completed ({*} secs).
C: c3 EXPUNGE
S: * 4 EXPUNGE
S: * 7 RECENT
S: c3 OK Expunge completed ({*} secs).
C: c4 UID SEARCH $
S: * SEARCH 2 5 8
S: c4 OK Search completed ({*} secs).
C: c5 FETCH $ (UID)
S: * 2 FETCH (UID 2)
S: * 4 FETCH (UID 5)
S: * 7 FETCH (UID 8)
S: c5 OK Fetch completed ({*} secs).

# SELECT empties `$` (UNSELECT and EXAMINE too).
C: c6 SELECT Res
S: * OK [CLOSED] Previous mailbox closed.
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 7 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 9] Predicted next UID
S: c6 OK [READ-WRITE] Select completed ({*} secs).
C: c7 FETCH $ (UID)
S: c7 OK Fetch completed ({*} secs).
C: c8 SEARCH RETURN (SAVE) 1:2
S: c8 OK Search completed ({*} secs).
C: c9 UNSELECT
S: c9 OK Unselect completed ({*} secs).
C: c10 SELECT Res
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 7 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 9] Predicted next UID
S: c10 OK [READ-WRITE] Select completed ({*} secs).
C: c11 SEARCH $
S: * SEARCH
S: c11 OK Search completed ({*} secs).
C: c12 LOGOUT
S: * BYE Logging out
S: c12 OK Logout completed ({*} secs).
@eof
