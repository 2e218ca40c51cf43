# IMAP4rev2 (RFC 9051) after ENABLE IMAP4rev2: both revisions are advertised (Appendix A);
# the enabled session has no \Recent and no RECENT, STATUS DELETED, SEARCH answered with
# ESEARCH, SELECT's LIST response and no [UNSEEN], UTF-8 mailbox names, UID in unsolicited
# FETCH. Dovecot 2.3 has no IMAP4rev2: written from RFC 9051's text and examples.
@connect imap one
S: * OK [CAPABILITY IMAP4rev1 IMAP4rev2 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE {*}] Dovecot (Debian) ready.
C: a1 LOGIN alice secret
S: a1 OK [CAPABILITY IMAP4rev1 IMAP4rev2 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT {*}] Logged in
C: a2 ENABLE IMAP4rev2
S: * ENABLED IMAP4rev2
S: a2 OK Enabled ({*} secs).
C: a3 CREATE Rev2Box
S: a3 OK Create completed ({*} secs).
@send "a4 APPEND Rev2Box (\\Seen) {23+}\r\nSubject: m1\r\n\r\nbody 1\r\n\r\n"
S: a4 OK [APPENDUID {*} 1] Append completed ({*} secs).
@send "a5 APPEND Rev2Box (\\Deleted \\Flagged) {23+}\r\nSubject: m2\r\n\r\nbody 2\r\n\r\n"
S: a5 OK [APPENDUID {*} 2] Append completed ({*} secs).
@send "a6 APPEND Rev2Box {23+}\r\nSubject: m3\r\n\r\nbody 3\r\n\r\n"
S: a6 OK [APPENDUID {*} 3] Append completed ({*} secs).

# STATUS: DELETED (RFC 9051 §6.3.11) and SIZE; RECENT is not an item of IMAP4rev2.
C: b1 STATUS Rev2Box (MESSAGES UNSEEN DELETED SIZE)
S: * STATUS Rev2Box (MESSAGES 3 UNSEEN 2 DELETED 1 SIZE 69)
S: b1 OK Status completed ({*} secs).
C: b2 STATUS Rev2Box (MESSAGES RECENT)
S: b2 BAD Error in IMAP command STATUS: Invalid status item RECENT ({*} secs).
C: b3 LIST "" Rev2Box RETURN (STATUS (DELETED))
S: * LIST (\HasNoChildren) "." Rev2Box
S: * STATUS Rev2Box (DELETED 1)
S: b3 OK List completed ({*} secs).

# SELECT (RFC 9051 §6.3.2): no RECENT, no [UNSEEN], the mailbox's LIST response.
C: c1 SELECT Rev2Box
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 3 EXISTS
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 4] Predicted next UID
S: * LIST (\HasNoChildren) "." Rev2Box
S: c1 OK [READ-WRITE] Select completed ({*} secs).

# FETCH: the messages are new to this session, but nothing is \Recent for a rev2 client.
C: c2 FETCH 1:* (FLAGS)
S: * 1 FETCH (FLAGS (\Seen))
S: * 2 FETCH (FLAGS (\Flagged \Deleted))
S: * 3 FETCH (FLAGS ())
S: c2 OK Fetch completed ({*} secs).

# SEARCH answers with ESEARCH, ALL without RETURN (RFC 9051 §6.4.4), UID for UID SEARCH, and
# an ESEARCH without data when nothing matches.
C: d1 SEARCH UNSEEN
S: * ESEARCH (TAG "d1") ALL 2:3
S: d1 OK Search completed ({*} secs).
C: d2 UID SEARCH DELETED
S: * ESEARCH (TAG "d2") UID ALL 2
S: d2 OK Search completed ({*} secs).
C: d3 SEARCH SUBJECT "not there"
S: * ESEARCH (TAG "d3")
S: d3 OK Search completed ({*} secs).
C: d4 UID SEARCH SUBJECT "not there"
S: * ESEARCH (TAG "d4") UID
S: d4 OK Search completed ({*} secs).
C: d5 SEARCH RETURN (MIN COUNT) UNDELETED
S: * ESEARCH (TAG "d5") MIN 1 COUNT 2
S: d5 OK Search completed ({*} secs).
C: d6 SEARCH RETURN () ALL
S: * ESEARCH (TAG "d6") ALL 1:3
S: d6 OK Search completed ({*} secs).
# SAVE alone answers nothing; `$` holds the result.
C: d7 SEARCH RETURN (SAVE) FLAGGED
S: d7 OK Search completed ({*} secs).
C: d8 FETCH $ (UID)
S: * 2 FETCH (UID 2)
S: d8 OK Fetch completed ({*} secs).
# RECENT, NEW and OLD went with \Recent.
C: d9 SEARCH NEW
S: d9 BAD Error in IMAP command SEARCH: RECENT, NEW and OLD are not search keys of IMAP4rev2 ({*} secs).
C: d10 SEARCH NOT OLD
S: d10 BAD Error in IMAP command SEARCH: RECENT, NEW and OLD are not search keys of IMAP4rev2 ({*} secs).
# SORT keeps its own response.
C: d11 SORT (REVERSE SUBJECT) UTF-8 ALL
S: * SORT 3 2 1
S: d11 OK Sort completed ({*} secs).

# STATUS DELETED on the selected mailbox counts from this session's view.
C: e1 STATUS Rev2Box (DELETED UNSEEN)
S: * STATUS Rev2Box (UNSEEN 2 DELETED 1)
S: e1 OK [CLIENTBUG] Status on selected mailbox completed ({*} secs).

# Another session (IMAP4rev1) adds a message and changes flags: no RECENT here, and the
# unsolicited FETCH carries the UID (RFC 9051 Appendix E item 21).
@connect imap two
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: t1 LOGIN alice secret
S: t1 OK [CAPABILITY {*}] Logged in
@send "t2 APPEND Rev2Box {23+}\r\nSubject: m4\r\n\r\nbody 4\r\n\r\n"
S: t2 OK [APPENDUID {*} 4] Append completed ({*} secs).
C: t3 EXAMINE Rev2Box
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS ()] Read-only mailbox.
S: * 4 EXISTS
S: * 1 RECENT
S: * OK [UNSEEN 2] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 5] Predicted next UID
S: t3 OK [READ-ONLY] Examine completed ({*} secs).
C: t4 CLOSE
S: t4 OK Close completed ({*} secs).
C: t5 SELECT Rev2Box
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 4 EXISTS
S: * 1 RECENT
S: * OK [UNSEEN 2] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 5] Predicted next UID
S: t5 OK [READ-WRITE] Select completed ({*} secs).
C: t6 STORE 3 +FLAGS.SILENT (\Answered)
S: t6 OK Store completed ({*} secs).
@use one
C: f1 NOOP
S: * 3 FETCH (UID 3 FLAGS (\Answered))
S: * 4 EXISTS
S: f1 OK NOOP completed ({*} secs).
C: f2 FETCH 4 (UID FLAGS)
S: * 4 FETCH (UID 4 FLAGS ())
S: f2 OK Fetch completed ({*} secs).
@use two
C: t7 LOGOUT
S: * BYE Logging out
S: t7 OK Logout completed ({*} secs).
@eof
@use one

# Mailbox names are UTF-8 on the wire (RFC 9051 §5.1), quoted when not atoms.
C: g1 CREATE "Rev2 Entwürfe"
S: g1 OK Create completed ({*} secs).
# UTF-8 is for quoted strings and literals; an atom stays 7-bit (RFC 9051 §9, ATOM-CHAR).
C: g2 CREATE Rev2Répertoire.Enfant
S: g2 BAD Error in IMAP command CREATE: 8bit data in atom ({*} secs).
C: g2b CREATE "Rev2Répertoire.Enfant"
S: g2b OK Create completed ({*} secs).
C: g3 LIST "" "Rev2 Entw*"
S: * LIST (\HasNoChildren) "." "Rev2 Entwürfe"
S: g3 OK List completed ({*} secs).
# A parent that only exists as a name (Maildir++) is \NonExistent (RFC 9051 §6.3.9.6).
C: g3b LIST "" "Rev2R%"
S: * LIST (\NonExistent \HasChildren) "." "Rev2Répertoire"
S: g3b OK List completed ({*} secs).
C: g3c LIST "Rev2Répertoire." "%"
S: * LIST (\HasNoChildren) "." "Rev2Répertoire.Enfant"
S: g3c OK List completed ({*} secs).
C: g4 STATUS "Rev2 Entwürfe" (MESSAGES DELETED)
S: * STATUS "Rev2 Entwürfe" (MESSAGES 0 DELETED 0)
S: g4 OK Status completed ({*} secs).
# SELECT while a mailbox is selected: [CLOSED] first (RFC 9051 §6.3.2).
C: g5 EXAMINE "Rev2 Entwürfe"
S: * OK [CLOSED] Previous mailbox closed.
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS ()] Read-only mailbox.
S: * 0 EXISTS
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 1] Predicted next UID
S: * LIST (\HasNoChildren) "." "Rev2 Entwürfe"
S: g5 OK [READ-ONLY] Examine completed ({*} secs).
C: g6 RENAME "Rev2 Entwürfe" "Rev2 Brouillons été"
S: g6 OK Rename completed ({*} secs).
C: g7 LIST "" "Rev2 *"
S: * LIST (\HasNoChildren) "." "Rev2 Brouillons été"
S: g7 OK List completed ({*} secs).
# A modified UTF-7 name is just a name with `&` in it now.
C: g8 STATUS "Rev2 Entw&APw-rfe" (MESSAGES)
S: g8 NO Mailbox doesn't exist: Rev2 Entw&APw-rfe ({*} secs).

# What RFC 9051 removed or deprecated still answers (cote offers IMAP4rev1 too): CHECK,
# LSUB, RFC822.*.
C: h1 SELECT Rev2Box
S: * OK [CLOSED] Previous mailbox closed.
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 4 EXISTS
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 5] Predicted next UID
S: * LIST (\HasNoChildren) "." Rev2Box
S: h1 OK [READ-WRITE] Select completed ({*} secs).
C: h2 CHECK
S: h2 OK Check completed ({*} secs).
C: h3 SUBSCRIBE "Rev2 Brouillons été"
S: h3 OK Subscribe completed ({*} secs).
C: h4 LSUB "" "Rev2 *"
S: * LSUB () "." "Rev2 Brouillons été"
S: h4 OK Lsub completed ({*} secs).
C: h5 FETCH 1 (RFC822.SIZE RFC822.HEADER)
S: * 1 FETCH (RFC822.SIZE 23 RFC822.HEADER {15}
S: Subject: m1
S:
S: )
S: h5 OK Fetch completed ({*} secs).
C: h6 NAMESPACE
S: * NAMESPACE (("" ".")) NIL NIL
S: h6 OK Namespace completed ({*} secs).
C: h7 LOGOUT
S: * BYE Logging out
S: h7 OK Logout completed ({*} secs).
@eof
