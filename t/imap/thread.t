# THREAD (RFC 5256): ORDEREDSUBJECT, REFERENCES and Dovecot's REFS, in the RFC's format: a
# lone child follows its parent, siblings are parenthesised, a parent that is not in the
# mailbox is an empty "()" level. Messages linked by References (In-Reply-To without it), a
# reply without references joined to its thread by subject (REFERENCES only), REFS ordering
# threads by their latest message; answers as Dovecot 2.3.19.1 gives them (checked with
# t/oracle/imap-transcript-check). UIDs are one above the sequence numbers here.
@connect imap
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a1 LOGIN alice secret
S: a1 OK [CAPABILITY {*}] Logged in
C: a2 CREATE Thread
S: a2 OK Create completed ({*} secs).
@send "b0 APPEND Thread () \"01-Jan-2000 00:00:00 +0000\" {20+}\r\nSubject: removed\r\n\r\n\r\n"
S: b0 OK [APPENDUID {*} 1] Append completed ({*} secs).
@send "b1 APPEND Thread () \"10-Jan-2000 00:00:00 +0000\" {81+}\r\nMessage-ID: <1@x>\r\nSubject: lunch\r\nDate: Sat, 1 Jan 2000 10:00:00 +0000\r\n\r\nbody\r\n\r\n"
S: b1 OK [APPENDUID {*} 2] Append completed ({*} secs).
@send "b2 APPEND Thread () \"10-Jan-2000 00:00:00 +0000\" {104+}\r\nMessage-ID: <2@x>\r\nReferences: <1@x>\r\nSubject: Re: lunch\r\nDate: Sun, 2 Jan 2000 10:00:00 +0000\r\n\r\nbody\r\n\r\n"
S: b2 OK [APPENDUID {*} 3] Append completed ({*} secs).
@send "b3 APPEND Thread () \"10-Jan-2000 00:00:00 +0000\" {104+}\r\nMessage-ID: <3@x>\r\nReferences: <1@x>\r\nSubject: Re: lunch\r\nDate: Mon, 3 Jan 2000 10:00:00 +0000\r\n\r\nbody\r\n\r\n"
S: b3 OK [APPENDUID {*} 4] Append completed ({*} secs).
@send "b4 APPEND Thread () \"10-Jan-2000 00:00:00 +0000\" {110+}\r\nMessage-ID: <4@x>\r\nReferences: <1@x> <2@x>\r\nSubject: Re: lunch\r\nDate: Tue, 4 Jan 2000 10:00:00 +0000\r\n\r\nbody\r\n\r\n"
S: b4 OK [APPENDUID {*} 5] Append completed ({*} secs).
@send "b5 APPEND Thread () \"10-Jan-2000 00:00:00 +0000\" {82+}\r\nMessage-ID: <5@x>\r\nSubject: apples\r\nDate: Wed, 5 Jan 2000 10:00:00 +0000\r\n\r\nbody\r\n\r\n"
S: b5 OK [APPENDUID {*} 6] Append completed ({*} secs).
@send "b6 APPEND Thread () \"10-Jan-2000 00:00:00 +0000\" {108+}\r\nMessage-ID: <6@x>\r\nReferences: <gone@x>\r\nSubject: Re: budget\r\nDate: Thu, 6 Jan 2000 10:00:00 +0000\r\n\r\nbody\r\n\r\n"
S: b6 OK [APPENDUID {*} 7] Append completed ({*} secs).
@send "b7 APPEND Thread () \"10-Jan-2000 00:00:00 +0000\" {109+}\r\nMessage-ID: <7@x>\r\nIn-Reply-To: <gone@x>\r\nSubject: Re: budget\r\nDate: Fri, 7 Jan 2000 10:00:00 +0000\r\n\r\nbody\r\n\r\n"
S: b7 OK [APPENDUID {*} 8] Append completed ({*} secs).
@send "b8 APPEND Thread () \"10-Jan-2000 00:00:00 +0000\" {85+}\r\nMessage-ID: <8@x>\r\nSubject: Re: lunch\r\nDate: Sat, 8 Jan 2000 10:00:00 +0000\r\n\r\nbody\r\n\r\n"
S: b8 OK [APPENDUID {*} 9] Append completed ({*} secs).
@send "b9 APPEND Thread () \"10-Jan-2000 00:00:00 +0000\" {105+}\r\nMessage-ID: <9@x>\r\nReferences: <5@x>\r\nSubject: Re: apples\r\nDate: Sun, 9 Jan 2000 10:00:00 +0000\r\n\r\nbody\r\n\r\n"
S: b9 OK [APPENDUID {*} 10] Append completed ({*} secs).
C: a3 SELECT Thread
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 10 EXISTS
S: * 10 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 11] Predicted next UID
S: a3 OK [READ-WRITE] Select completed ({*} secs).
C: a4 STORE 1 +FLAGS.SILENT (\Deleted)
S: a4 OK Store completed ({*} secs).
C: a5 EXPUNGE
S: * 1 EXPUNGE
S: * 9 RECENT
S: a5 OK Expunge completed ({*} secs).
C: a6 THREAD ORDEREDSUBJECT UTF-8 ALL
S: * THREAD (1 (2)(3)(4)(8))(5 9)(6 7)
S: a6 OK Thread completed ({*} secs).
C: a7 THREAD REFERENCES UTF-8 ALL
S: * THREAD (1 (2 4)(3)(8))(5 9)((6)(7))
S: a7 OK Thread completed ({*} secs).
C: a8 THREAD REFS UTF-8 ALL
S: * THREAD (1 (2 4)(3))((6)(7))(8)(5 9)
S: a8 OK Thread completed ({*} secs).
C: a9 UID THREAD REFERENCES UTF-8 ALL
S: * THREAD (2 (3 5)(4)(9))(6 10)((7)(8))
S: a9 OK Thread completed ({*} secs).
C: a10 THREAD REFERENCES UTF-8 NOT SUBJECT apples
S: * THREAD (1 (2 4)(3)(8))((6)(7))
S: a10 OK Thread completed ({*} secs).
# RFC 5256's example of nothing found
C: A284 THREAD ORDEREDSUBJECT US-ASCII TEXT "gewp"
S: * THREAD 
S: A284 OK Thread completed ({*} secs).
C: a11 THREAD FOO UTF-8 ALL
S: a11 BAD Error in IMAP command THREAD: Unknown thread algorithm ({*} secs).
C: a12 LOGOUT
S: * BYE Logging out
S: a12 OK Logout completed ({*} secs).
@eof
