# CONDSTORE as Dovecot 2.3.19.1 has it beyond the session that enables it, recorded from
# Dovecot with t/oracle/imap-transcript-check (modseqs left open: cote's differ only in
# when saved messages get theirs).
# 1. A mailbox's index tracks modseqs once a session with CONDSTORE (or QRESYNC) has opened
#    it — SELECT or EXAMINE, STATUS (also without HIGHESTMODSEQ), APPEND, COPY, ENABLE
#    while selected, FETCH MODSEQ — and from then on every SELECT/EXAMINE of it reports
#    HIGHESTMODSEQ, also to sessions without CONDSTORE. STATUS (HIGHESTMODSEQ) enables
#    CONDSTORE only after it has opened the mailbox: that mailbox is not marked.
# 2. A FETCH that sets \Seen in a CONDSTORE session answers FLAGS without MODSEQ and is
#    followed by `* n FETCH (MODSEQ (m))` per message (no UID, also after UID FETCH).
@connect imap one
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a1 LOGIN alice secret
S: a1 OK [CAPABILITY {*}] Logged in
@connect imap two
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: b1 LOGIN alice secret
S: b1 OK [CAPABILITY {*}] Logged in
@use one
C: a2 CREATE Trk
S: a2 OK Create completed ({*} secs).
@send "a3 APPEND Trk {21+}\r\nSubject: t1\r\n\r\nbody\r\n\r\n"
S: a3 OK [APPENDUID {*} 1] Append completed ({*} secs).
@send "a4 APPEND Trk {21+}\r\nSubject: t2\r\n\r\nbody\r\n\r\n"
S: a4 OK [APPENDUID {*} 2] Append completed ({*} secs).
C: a5 SELECT Trk
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 2 EXISTS
S: * 2 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 3] Predicted next UID
S: a5 OK [READ-WRITE] Select completed ({*} secs).
C: a6 CLOSE
S: a6 OK Close completed ({*} secs).
# A session without CONDSTORE changes nothing.
@use two
C: b2 STATUS Trk (MESSAGES)
S: * STATUS Trk (MESSAGES 2)
S: b2 OK Status completed ({*} secs).
@use one
C: a7 EXAMINE Trk
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS ()] Read-only mailbox.
S: * 2 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 3] Predicted next UID
S: a7 OK [READ-ONLY] Examine completed ({*} secs).
C: a8 CLOSE
S: a8 OK Close completed ({*} secs).
# EXAMINE with CONDSTORE marks it.
@use two
C: b3 EXAMINE Trk (CONDSTORE)
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS ()] Read-only mailbox.
S: * 2 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 3] Predicted next UID
S: * OK [HIGHESTMODSEQ {*}] Highest
S: b3 OK [READ-ONLY] Examine completed ({*} secs).
C: b4 CLOSE
S: b4 OK Close completed ({*} secs).
@use one
C: a9 SELECT Trk
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 2 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 3] Predicted next UID
S: * OK [HIGHESTMODSEQ {*}] Highest
S: a9 OK [READ-WRITE] Select completed ({*} secs).
# No CONDSTORE here: no MODSEQ after a FETCH that sets \Seen.
C: a10 FETCH 1 BODY[]
S: * 1 FETCH (FLAGS (\Seen) BODY[] {21}
S: Subject: t1
S: 
S: body
S: )
S: a10 OK Fetch completed ({*} secs).
C: a11 CLOSE
S: a11 OK Close completed ({*} secs).
@use two
C: b5 SELECT Trk
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 2 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 2] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 3] Predicted next UID
S: * OK [HIGHESTMODSEQ {*}] Highest
S: b5 OK [READ-WRITE] Select completed ({*} secs).
C: b6 FETCH 2 BODY[]
S: * 2 FETCH (FLAGS (\Seen) BODY[] {21}
S: Subject: t2
S: 
S: body
S: )
S: * 2 FETCH (MODSEQ ({*}))
S: b6 OK Fetch completed ({*} secs).
C: b7 FETCH 1:2 BODY[]
S: * 1 FETCH (BODY[] {21}
S: Subject: t1
S: 
S: body
S: )
S: * 2 FETCH (BODY[] {21}
S: Subject: t2
S: 
S: body
S: )
S: b7 OK Fetch completed ({*} secs).
C: b8 STORE 1:2 -FLAGS.SILENT (\Seen)
S: * 1 FETCH (MODSEQ ({*}))
S: * 2 FETCH (MODSEQ ({*}))
S: b8 OK Store completed ({*} secs).
C: b9 UID FETCH 1:2 (BODY[])
S: * 1 FETCH (UID 1 FLAGS (\Seen) BODY[] {21}
S: Subject: t1
S: 
S: body
S: )
S: * 2 FETCH (UID 2 FLAGS (\Seen) BODY[] {21}
S: Subject: t2
S: 
S: body
S: )
S: * 1 FETCH (MODSEQ ({*}))
S: * 2 FETCH (MODSEQ ({*}))
S: b9 OK Fetch completed ({*} secs).
C: b10 STORE 2 -FLAGS.SILENT (\Seen)
S: * 2 FETCH (MODSEQ ({*}))
S: b10 OK Store completed ({*} secs).
C: b11 FETCH 2 (FLAGS BODY[])
S: * 2 FETCH (FLAGS (\Seen) BODY[] {21}
S: Subject: t2
S: 
S: body
S: )
S: * 2 FETCH (MODSEQ ({*}))
S: b11 OK Fetch completed ({*} secs).
C: b12 FETCH 2 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])
S: * 2 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {15}
S: Subject: t2
S: 
S: )
S: b12 OK Fetch completed ({*} secs).
# STATUS (HIGHESTMODSEQ) turns CONDSTORE on after it opened the mailbox: not marked.
@use one
C: a12 CREATE Trk2
S: a12 OK Create completed ({*} secs).
@send "a13 APPEND Trk2 {21+}\r\nSubject: t1\r\n\r\nbody\r\n\r\n"
S: a13 OK [APPENDUID {*} 1] Append completed ({*} secs).
@connect imap three
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: c1 LOGIN alice secret
S: c1 OK [CAPABILITY {*}] Logged in
C: c2 STATUS Trk2 (HIGHESTMODSEQ)
S: * STATUS Trk2 (HIGHESTMODSEQ {*})
S: c2 OK Status completed ({*} secs).
C: c3 LOGOUT
S: * BYE Logging out
S: c3 OK Logout completed ({*} secs).
@eof
@use one
C: a14 SELECT Trk2
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 1 EXISTS
S: * 1 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 2] Predicted next UID
S: a14 OK [READ-WRITE] Select completed ({*} secs).
C: a15 CLOSE
S: a15 OK Close completed ({*} secs).
# STATUS from a CONDSTORE session marks it.
C: a16 CREATE Trk3
S: a16 OK Create completed ({*} secs).
@send "a17 APPEND Trk3 {21+}\r\nSubject: t1\r\n\r\nbody\r\n\r\n"
S: a17 OK [APPENDUID {*} 1] Append completed ({*} secs).
@use two
C: b13 STATUS Trk3 (MESSAGES)
S: * STATUS Trk3 (MESSAGES 1)
S: b13 OK Status completed ({*} secs).
@use one
C: a18 SELECT Trk3
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 1 EXISTS
S: * 1 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 2] Predicted next UID
S: * OK [HIGHESTMODSEQ {*}] Highest
S: a18 OK [READ-WRITE] Select completed ({*} secs).
C: a19 CLOSE
S: a19 OK Close completed ({*} secs).
# APPEND and COPY from a CONDSTORE session mark the target.
C: a20 CREATE Trk4
S: a20 OK Create completed ({*} secs).
C: a21 CREATE Trk5
S: a21 OK Create completed ({*} secs).
@use two
@send "b14 APPEND Trk4 {21+}\r\nSubject: t1\r\n\r\nbody\r\n\r\n"
S: b14 OK [APPENDUID {*} 1] Append completed ({*} secs).
C: b15 COPY 1 Trk5
S: b15 OK [COPYUID {*} 1 1] Copy completed ({*} secs).
@use one
C: a22 SELECT Trk4
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 1 EXISTS
S: * 1 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 2] Predicted next UID
S: * OK [HIGHESTMODSEQ {*}] Highest
S: a22 OK [READ-WRITE] Select completed ({*} secs).
C: a23 CLOSE
S: a23 OK Close completed ({*} secs).
C: a24 SELECT Trk5
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 1 EXISTS
S: * 1 RECENT
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 2] Predicted next UID
S: * OK [HIGHESTMODSEQ {*}] Highest
S: a24 OK [READ-WRITE] Select completed ({*} secs).
C: a25 CLOSE
S: a25 OK Close completed ({*} secs).
# FETCH MODSEQ and ENABLE CONDSTORE while the mailbox is selected mark it.
C: a26 CREATE Trk6
S: a26 OK Create completed ({*} secs).
@send "a27 APPEND Trk6 {21+}\r\nSubject: t1\r\n\r\nbody\r\n\r\n"
S: a27 OK [APPENDUID {*} 1] Append completed ({*} secs).
C: a28 CREATE Trk7
S: a28 OK Create completed ({*} secs).
@send "a29 APPEND Trk7 {21+}\r\nSubject: t1\r\n\r\nbody\r\n\r\n"
S: a29 OK [APPENDUID {*} 1] Append completed ({*} secs).
@connect imap four
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: d1 LOGIN alice secret
S: d1 OK [CAPABILITY {*}] Logged in
C: d2 SELECT Trk6
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 1 EXISTS
S: * 1 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 2] Predicted next UID
S: d2 OK [READ-WRITE] Select completed ({*} secs).
C: d3 FETCH 1 (MODSEQ)
S: * OK [HIGHESTMODSEQ {*}] Highest
S: * 1 FETCH (MODSEQ ({*}))
S: d3 OK Fetch completed ({*} secs).
C: d4 LOGOUT
S: * BYE Logging out
S: d4 OK Logout completed ({*} secs).
@eof
@connect imap five
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: e1 LOGIN alice secret
S: e1 OK [CAPABILITY {*}] Logged in
C: e2 SELECT Trk7
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 1 EXISTS
S: * 1 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 2] Predicted next UID
S: e2 OK [READ-WRITE] Select completed ({*} secs).
C: e3 ENABLE CONDSTORE
S: * OK [HIGHESTMODSEQ {*}] Highest
S: * ENABLED CONDSTORE
S: e3 OK Enabled ({*} secs).
C: e4 LOGOUT
S: * BYE Logging out
S: e4 OK Logout completed ({*} secs).
@eof
@use one
C: a30 SELECT Trk6
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 1 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 2] Predicted next UID
S: * OK [HIGHESTMODSEQ {*}] Highest
S: a30 OK [READ-WRITE] Select completed ({*} secs).
C: a31 CLOSE
S: a31 OK Close completed ({*} secs).
C: a32 SELECT Trk7
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 1 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 2] Predicted next UID
S: * OK [HIGHESTMODSEQ {*}] Highest
S: a32 OK [READ-WRITE] Select completed ({*} secs).
C: a33 CLOSE
S: a33 OK Close completed ({*} secs).
C: a34 LOGOUT
S: * BYE Logging out
S: a34 OK Logout completed ({*} secs).
@eof
@use two
C: b16 LOGOUT
S: * BYE Logging out
S: b16 OK Logout completed ({*} secs).
@eof
# Under QRESYNC the MODSEQ after FETCH has the UID, as every FETCH a sync sends.
@connect imap six
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: f1 LOGIN alice secret
S: f1 OK [CAPABILITY {*}] Logged in
C: f2 ENABLE QRESYNC
S: * ENABLED QRESYNC
S: f2 OK Enabled ({*} secs).
C: f3 SELECT Trk
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 2 EXISTS
S: * 0 RECENT
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 3] Predicted next UID
S: * OK [HIGHESTMODSEQ {*}] Highest
S: f3 OK [READ-WRITE] Select completed ({*} secs).
C: f4 STORE 1 -FLAGS.SILENT (\Seen)
S: * 1 FETCH (UID 1 MODSEQ ({*}))
S: f4 OK Store completed ({*} secs).
C: f5 FETCH 1 (BODY[])
S: * 1 FETCH (FLAGS (\Seen) BODY[] {21}
S: Subject: t1
S: 
S: body
S: )
S: * 1 FETCH (UID 1 MODSEQ ({*}))
S: f5 OK Fetch completed ({*} secs).
C: f6 LOGOUT
S: * BYE Logging out
S: f6 OK Logout completed ({*} secs).
@eof
