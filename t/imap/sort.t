# SORT (RFC 5256, with RFC 5957's DISPLAYFROM and RFC 5267's ESORT) following the RFCs'
# examples: the base subject (Re:, Fwd:, [blob] and (fwd) removed), REVERSE per key, Date:
# with the internal date when there is none, the mailbox of the first address, sequence
# order for ties; answers as Dovecot 2.3.19.1 gives them (checked with
# t/oracle/imap-transcript-check).
@connect imap
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a1 LOGIN alice secret
S: a1 OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT {*}] Logged in
C: a2 CREATE Sort
S: a2 OK Create completed ({*} secs).
@send "b1 APPEND Sort () \"02-Jan-2000 10:00:00 +0000\" {219+}\r\nFrom: Aaron Zed <zadams@example.com>\r\nTo: bob@example.org\r\nSubject: Re: lunch\r\nDate: Sun, 2 Jan 2000 10:00:00 +0000\r\n\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n\r\n"
S: b1 OK [APPENDUID {*} 1] Append completed ({*} secs).
@send "b2 APPEND Sort () \"01-Jan-2000 10:00:00 +0000\" {481+}\r\nFrom: carol@example.com\r\nSubject: lunch\r\nDate: Sat, 1 Jan 2000 10:00:00 +0000\r\n\r\nyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\nyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\nyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\nyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n\r\n"
S: b2 OK [APPENDUID {*} 2] Append completed ({*} secs).
@send "b3 APPEND Sort () \"15-Jan-1993 10:00:00 +0000\" {318+}\r\nFrom: =?UTF-8?Q?=C3=89mile?= <emile@example.fr>\r\nSubject: [list] Fwd: budget\r\nDate: Wed, 5 Jan 2000 10:00:00 +0000\r\n\r\nzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\r\nzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\r\n\r\n"
S: b3 OK [APPENDUID {*} 3] Append completed ({*} secs).
@send "b4 APPEND Sort () \"03-Jan-2000 10:00:00 +0000\" {392+}\r\nFrom: \"\" <anna@example.com>\r\nSubject: budget (fwd)\r\nDate: Mon, 3 Jan 2000 10:00:00 +0000\r\n\r\nwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww\r\nwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww\r\nwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww\r\n\r\n"
S: b4 OK [APPENDUID {*} 4] Append completed ({*} secs).
@send "b5 APPEND Sort () \"06-Jan-2000 10:00:00 +0000\" {48+}\r\nFrom: Bob <bob@example.org>\r\nSubject: apples\r\n\r\n\r\n"
S: b5 OK [APPENDUID {*} 5] Append completed ({*} secs).
C: a3 SELECT Sort
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 5 EXISTS
S: * 5 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 6] Predicted next UID
S: a3 OK [READ-WRITE] Select completed ({*} secs).
# RFC 5256's examples
C: A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994
S: * SORT 5 4 1 2
S: A282 OK Sort completed ({*} secs).
C: A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL
S: * SORT 5 3 4 1 2
S: A283 OK Sort completed ({*} secs).
C: A284 SORT (SUBJECT) US-ASCII TEXT "not in mailbox"
S: * SORT
S: A284 OK Sort completed ({*} secs).
# Date: first (the last message has none: its internal date), arrival, size
C: a4 SORT (DATE) UTF-8 ALL
S: * SORT 2 1 4 3 5
S: a4 OK Sort completed ({*} secs).
C: a5 SORT (REVERSE ARRIVAL) UTF-8 ALL
S: * SORT 5 4 1 2 3
S: a5 OK Sort completed ({*} secs).
C: a6 SORT (REVERSE SIZE) UTF-8 ALL
S: * SORT 2 4 3 1 5
S: a6 OK Sort completed ({*} secs).
# the first address's mailbox; the display name (decoded), or the address without one
C: a7 SORT (FROM) UTF-8 ALL
S: * SORT 4 5 2 3 1
S: a7 OK Sort completed ({*} secs).
C: a8 SORT (DISPLAYFROM) UTF-8 ALL
S: * SORT 1 4 5 2 3
S: a8 OK Sort completed ({*} secs).
C: a9 SORT (TO REVERSE DATE) UTF-8 ALL
S: * SORT 5 3 4 2 1
S: a9 OK Sort completed ({*} secs).
C: a10 UID SORT (SUBJECT) UTF-8 FROM example.com
S: * SORT 4 1 2
S: a10 OK Sort completed ({*} secs).
C: a11 SORT (DATE) X-UNKNOWN ALL
S: a11 NO [BADCHARSET] Unknown charset ({*} secs).
C: a12 SORT (DATE REVERSE) UTF-8 ALL
S: a12 BAD Error in IMAP command SORT: Sort list ends with REVERSE ({*} secs).
# ESORT (RFC 5267): ESEARCH items in sort order, MIN and MAX the first and last sorted;
# SAVE (RFC 5182) keeps the result for $
C: A285 SORT RETURN (MIN) (REVERSE DATE) UTF-8 SINCE 1-Feb-1994
S: * ESEARCH (TAG "A285") MIN 5
S: A285 OK Sort completed ({*} secs).
C: a14 SORT RETURN (MIN MAX COUNT ALL) (SUBJECT REVERSE DATE) UTF-8 ALL
S: * ESEARCH (TAG "a14") MIN 5 MAX 2 ALL 5,3:4,1:2 COUNT 5
S: a14 OK Sort completed ({*} secs).
C: a15 UID SORT RETURN (COUNT) (DATE) UTF-8 TEXT "not in mailbox"
S: * ESEARCH (TAG "a15") UID COUNT 0
S: a15 OK Sort completed ({*} secs).
C: a16 SORT RETURN (PARTIAL 2:3) (DATE) UTF-8 ALL
S: * ESEARCH (TAG "a16") PARTIAL (2:3 1,4)
S: a16 OK Sort completed ({*} secs).
C: a17 SORT RETURN (SAVE) (DATE) UTF-8 FROM example.com
S: a17 OK Sort completed ({*} secs).
C: a18 SEARCH $
S: * SEARCH 1 2 4
S: a18 OK Search completed ({*} secs).
C: a19 LOGOUT
S: * BYE Logging out
S: a19 OK Logout completed ({*} secs).
@eof
