# CONTEXT=SEARCH (RFC 5267 section 4) as Dovecot 2.3 does it: SEARCH and SORT RETURN (UPDATE)
# keep the result and report its changes as `* ESEARCH (TAG "t") [UID] REMOVEFROM (0 set)
# ADDTO (0 set)` (position always 0): flag changes by another session or by this one (STORE,
# also .SILENT), new messages after their EXISTS, expunges before their EXPUNGE with the
# numbers they had; UPDATE alone sends an empty ESEARCH; a tag already updated is refused;
# CANCELUPDATE ends updates (strings only, NO for an unknown tag); closing the mailbox ends
# them all; PARTIAL ranges (reversed ones swapped, negative ones refused, as Dovecot).
# Checked against Dovecot 2.3.19.1 with t/oracle/imap-transcript-check.
@connect imap one
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a1 LOGIN alice secret
S: a1 OK [CAPABILITY {*}] Logged in
C: a2 CREATE Ctx
S: a2 OK Create completed ({*} secs).
@send "a3 APPEND Ctx (\\Flagged) \"01-Jan-2006 12:00:00 +0000\" {52+}\r\nFrom: u1@example.com\r\nSubject: message 1\r\n\r\nbody 1\r\n\r\n"
S: a3 OK [APPENDUID {*} 1] Append completed ({*} secs).
@send "a4 APPEND Ctx \"01-Jan-2006 12:00:00 +0000\" {52+}\r\nFrom: u2@example.com\r\nSubject: message 2\r\n\r\nbody 2\r\n\r\n"
S: a4 OK [APPENDUID {*} 2] Append completed ({*} secs).
@send "a5 APPEND Ctx (\\Flagged) \"01-Jan-2006 12:00:00 +0000\" {52+}\r\nFrom: u3@example.com\r\nSubject: message 3\r\n\r\nbody 3\r\n\r\n"
S: a5 OK [APPENDUID {*} 3] Append completed ({*} secs).
@send "a6 APPEND Ctx \"01-Jan-2006 12:00:00 +0000\" {52+}\r\nFrom: u4@example.com\r\nSubject: message 4\r\n\r\nbody 4\r\n\r\n"
S: a6 OK [APPENDUID {*} 4] Append completed ({*} secs).
@send "a7 APPEND Ctx (\\Flagged) \"01-Jan-2006 12:00:00 +0000\" {52+}\r\nFrom: u5@example.com\r\nSubject: message 5\r\n\r\nbody 5\r\n\r\n"
S: a7 OK [APPENDUID {*} 5] Append completed ({*} secs).
C: a10 SELECT Ctx
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 5 EXISTS
S: * 5 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 6] Predicted next UID
S: a10 OK [READ-WRITE] Select completed ({*} secs).
@connect imap two
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: b1 LOGIN alice secret
S: b1 OK [CAPABILITY {*}] Logged in
C: b2 SELECT Ctx
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 5 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 6] Predicted next UID
S: b2 OK [READ-WRITE] Select completed ({*} secs).
@use one
C: t1 SEARCH RETURN (UPDATE) FLAGGED
S: * ESEARCH (TAG "t1")
S: t1 OK Search completed ({*} secs).
C: t2 UID SEARCH RETURN (ALL UPDATE) FLAGGED
S: * ESEARCH (TAG "t2") UID ALL 1,3,5
S: t2 OK Search completed ({*} secs).
C: t3 SEARCH RETURN (COUNT UPDATE) UNFLAGGED
S: * ESEARCH (TAG "t3") COUNT 2
S: t3 OK Search completed ({*} secs).
C: t3 SEARCH RETURN (COUNT UPDATE) UNFLAGGED
S: t3 BAD Error in IMAP command SEARCH: Duplicate search update tag ({*} secs).
C: t5 SORT RETURN (ALL UPDATE) (REVERSE SUBJECT) UTF-8 ALL
S: * ESEARCH (TAG "t5") ALL 5,4,3,2,1
S: t5 OK Sort completed ({*} secs).
C: t6 SEARCH RETURN (MIN UPDATE) 2:3
S: * ESEARCH (TAG "t6") MIN 2
S: t6 OK Search completed ({*} secs).
# Another session changes flags and adds a message.
@use two
C: b3 STORE 2 +FLAGS.SILENT (\Flagged)
S: b3 OK Store completed ({*} secs).
C: b4 STORE 1 -FLAGS.SILENT (\Flagged)
S: b4 OK Store completed ({*} secs).
@send "b5 APPEND Ctx (\\Flagged) \"01-Jan-2006 12:00:00 +0000\" {52+}\r\nFrom: u6@example.com\r\nSubject: message 6\r\n\r\nbody 6\r\n\r\n"
S: * 6 EXISTS
S: * 1 RECENT
S: b5 OK [APPENDUID {*} 6] Append completed ({*} secs).
@use one
C: n1 NOOP
S: * 1 FETCH (FLAGS (\Recent))
S: * 2 FETCH (FLAGS (\Flagged \Recent))
S: * 6 EXISTS
S: * ESEARCH (TAG "t1") REMOVEFROM (0 1) ADDTO (0 2,6)
S: * ESEARCH (TAG "t2") UID REMOVEFROM (0 1) ADDTO (0 2,6)
S: * ESEARCH (TAG "t3") REMOVEFROM (0 2) ADDTO (0 1)
S: * ESEARCH (TAG "t5") ADDTO (0 6)
S: n1 OK NOOP completed ({*} secs).
# Expunged elsewhere: out of the results before the EXPUNGE, with the old numbers.
@use two
C: b6 STORE 3 +FLAGS.SILENT (\Deleted)
S: b6 OK Store completed ({*} secs).
C: b7 EXPUNGE
S: * 3 EXPUNGE
S: b7 OK Expunge completed ({*} secs).
@use one
C: n2 NOOP
S: * ESEARCH (TAG "t1") REMOVEFROM (0 3)
S: * ESEARCH (TAG "t2") UID REMOVEFROM (0 3)
S: * ESEARCH (TAG "t5") REMOVEFROM (0 3)
S: * ESEARCH (TAG "t6") REMOVEFROM (0 3)
S: * 3 EXPUNGE
S: * 4 RECENT
S: n2 OK NOOP completed ({*} secs).
# This session's own changes; a STORE that changes nothing reports nothing.
C: s1 STORE 4 +FLAGS (\Flagged)
S: s1 OK Store completed ({*} secs).
C: s2 STORE 4 -FLAGS.SILENT (\Flagged)
S: * ESEARCH (TAG "t1") REMOVEFROM (0 4)
S: * ESEARCH (TAG "t2") UID REMOVEFROM (0 5)
S: * ESEARCH (TAG "t3") ADDTO (0 4)
S: s2 OK Store completed ({*} secs).
# The session's own EXPUNGE.
C: s3 STORE 1 +FLAGS.SILENT (\Deleted)
S: s3 OK Store completed ({*} secs).
C: s4 EXPUNGE
S: * ESEARCH (TAG "t3") REMOVEFROM (0 1)
S: * ESEARCH (TAG "t5") REMOVEFROM (0 1)
S: * 1 EXPUNGE
S: * 3 RECENT
S: s4 OK Expunge completed ({*} secs).
C: c1 CANCELUPDATE "t1" "t2"
S: c1 OK Updates cancelled ({*} secs).
C: c2 CANCELUPDATE "t1"
S: c2 NO Unknown tag ({*} secs).
C: c3 CANCELUPDATE t3
S: c3 BAD Error in IMAP command CANCELUPDATE: Invalid parameters ({*} secs).
C: c4 CANCELUPDATE
S: c4 BAD Error in IMAP command CANCELUPDATE: Invalid parameters ({*} secs).
C: c5 CANCELUPDATE {2+}
C: t3
S: c5 OK Updates cancelled ({*} secs).
# The cancelled ones say nothing more; t5 and t6 still follow.
C: s5 STORE 1 +FLAGS.SILENT (\Flagged)
S: s5 OK Store completed ({*} secs).
@use two
@send "b8 APPEND Ctx \"01-Jan-2006 12:00:00 +0000\" {52+}\r\nFrom: u7@example.com\r\nSubject: message 7\r\n\r\nbody 7\r\n\r\n"
S: * 4 FETCH (FLAGS ())
S: * 1 EXPUNGE
S: * 5 EXISTS
S: * 2 RECENT
S: b8 OK [APPENDUID {*} 7] Append completed ({*} secs).
@use one
C: n3 NOOP
S: * 5 EXISTS
S: * ESEARCH (TAG "t5") ADDTO (0 5)
S: n3 OK NOOP completed ({*} secs).
# PARTIAL (RFC 5267 section 4.4): reversed ranges are swapped, negative ones are refused.
C: p1 SEARCH RETURN (PARTIAL 3:1) ALL
S: * ESEARCH (TAG "p1") PARTIAL (1:3 1:3)
S: p1 OK Search completed ({*} secs).
C: p2 SEARCH RETURN (PARTIAL -1:-3) ALL
S: p2 BAD Error in IMAP command SEARCH: PARTIAL range broken ({*} secs).
C: p3 UID SEARCH RETURN (PARTIAL 2:9 COUNT SAVE) ALL
S: * ESEARCH (TAG "p3") UID PARTIAL (2:9 4:7) COUNT 5
S: p3 OK Search completed ({*} secs).
C: p4 UID SORT RETURN (PARTIAL 1:2) (REVERSE ARRIVAL) UTF-8 ALL
S: * ESEARCH (TAG "p4") UID PARTIAL (1:2 2,4)
S: p4 OK Sort completed ({*} secs).
C: p5 SEARCH RETURN (CONTEXT COUNT) ALL
S: * ESEARCH (TAG "p5") COUNT 5
S: p5 OK Search completed ({*} secs).
C: p7 SEARCH RETURN (RELEVANCY COUNT) ALL
S: * ESEARCH (TAG "p7") RELEVANCY (1 1 1 1 1) COUNT 5
S: p7 OK Search completed ({*} secs).
# SEARCHRES: `$` in an updated search is the saved result as it was then; an update does
# not change `$`. UPDATE (fetch-att), Dovecot's extension: new messages that join the
# result are fetched first (UID only when asked; BODY[] sets \Seen).
C: r1 SEARCH RETURN (SAVE UPDATE) UNFLAGGED
S: * ESEARCH (TAG "r1")
S: r1 OK Search completed ({*} secs).
C: r2 UID SEARCH RETURN (UPDATE COUNT) $
S: * ESEARCH (TAG "r2") UID COUNT 3
S: r2 OK Search completed ({*} secs).
C: r3 UID SEARCH RETURN (UPDATE (UID FLAGS) ALL) UNSEEN
S: * ESEARCH (TAG "r3") UID ALL 2,4:7
S: r3 OK Search completed ({*} secs).
C: r4 SEARCH RETURN (UPDATE (BODY[]) COUNT) UNSEEN
S: * ESEARCH (TAG "r4") COUNT 5
S: r4 OK Search completed ({*} secs).
C: r5 UID SEARCH RETURN (UPDATE (FLAGS)) UNSEEN
S: * ESEARCH (TAG "r5") UID
S: r5 OK Search completed ({*} secs).
C: r6 SEARCH RETURN (UPDATE (FOO) ALL) UNSEEN
S: r6 BAD Error in IMAP command SEARCH: SEARCH UPDATE fetch-att: Invalid fetch-att list: Unknown parameter: FOO ({*} secs).
C: r7 SORT RETURN (UPDATE (FLAGS ("x")) ALL) (ARRIVAL) UTF-8 ALL
S: r7 BAD Error in IMAP command SORT: SEARCH UPDATE fetch-att: fetch-att list contains non-atoms ({*} secs).
@use two
@send "b9 APPEND Ctx \"01-Jan-2006 12:00:00 +0000\" {52+}\r\nFrom: u8@example.com\r\nSubject: message 8\r\n\r\nbody 8\r\n\r\n"
S: * 6 EXISTS
S: * 3 RECENT
S: b9 OK [APPENDUID {*} 8] Append completed ({*} secs).
@use one
C: n4 NOOP
S: * 6 EXISTS
S: * ESEARCH (TAG "t5") ADDTO (0 6)
S: * ESEARCH (TAG "r1") ADDTO (0 6)
S: * 6 FETCH (UID 8 FLAGS ())
S: * ESEARCH (TAG "r3") UID ADDTO (0 8)
S: * 6 FETCH (FLAGS (\Seen) BODY[] {52}
S: From: u8@example.com
S: Subject: message 8
S: 
S: body 8
S: )
S: * ESEARCH (TAG "r4") ADDTO (0 6)
S: * 6 FETCH (FLAGS (\Seen))
S: * ESEARCH (TAG "r5") UID ADDTO (0 8)
S: n4 OK NOOP completed ({*} secs).
C: n5 FETCH $ UID
S: * 2 FETCH (UID 4)
S: * 3 FETCH (UID 5)
S: * 5 FETCH (UID 7)
S: * ESEARCH (TAG "r3") UID REMOVEFROM (0 8)
S: * ESEARCH (TAG "r4") REMOVEFROM (0 6)
S: * ESEARCH (TAG "r5") UID REMOVEFROM (0 8)
S: n5 OK Fetch completed ({*} secs).
C: n6 NOOP
S: n6 OK NOOP completed ({*} secs).
# SAVE with a MODSEQ key still answers the MODSEQ.
C: p6 SEARCH RETURN (SAVE) MODSEQ 1
S: * OK [HIGHESTMODSEQ {*}] Highest
S: * ESEARCH (TAG "p6") MODSEQ {*}
S: p6 OK Search completed ({*} secs).
# Closing the mailbox ends the updates.
C: u1 UNSELECT
S: u1 OK Unselect completed ({*} secs).
C: u2 CANCELUPDATE "t5"
S: u2 NO Unknown tag ({*} secs).
C: z LOGOUT
S: * BYE Logging out
S: z OK Logout completed ({*} secs).
@use two
C: z LOGOUT
S: * BYE Logging out
S: z OK Logout completed ({*} secs).
