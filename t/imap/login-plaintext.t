# LOGIN on loopback (127.0.0.1 -> 127.0.0.1 is "secured"): plaintext logins are allowed.
# The mail process answers with the post-login capability list, then serves the
# authenticated state: the user's (new, empty) INBOX can be selected.
@connect imap
S: * OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN AUTH=LOGIN AUTH=CRAM-MD5 AUTH=SCRAM-SHA-1 AUTH=SCRAM-SHA-256] Dovecot (Debian) ready.
C: a1 LOGIN alice secret
S: a1 OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN LIST-STATUS BINARY MOVE STATUS=SIZE SAVEDATE LITERAL+] Logged in
C: a2 CAPABILITY
S: * CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN LIST-STATUS BINARY MOVE STATUS=SIZE SAVEDATE LITERAL+
S: a2 OK Capability completed ({*} secs).
C: a3 NOOP
S: a3 OK NOOP completed ({*} secs).
C: a4 ID NIL
S: * ID ("name" "cote")
S: a4 OK ID completed ({*} secs).
C: a5 SELECT INBOX
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 0 EXISTS
S: * 0 RECENT
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 1] Predicted next UID
S: a5 OK [READ-WRITE] Select completed ({*} secs).
C: a6 FROBNICATE
S: a6 BAD Error in IMAP command FROBNICATE: Unknown command ({*} secs).
C: a7 LOGIN alice secret
S: a7 BAD Error in IMAP command LOGIN: Unknown command ({*} secs).
C: a8 LOGOUT
S: * BYE Logging out
S: a8 OK Logout completed ({*} secs).
@eof

# A client that asked CAPABILITY before logging in gets the new list untagged (Dovecot's
# rule for clients that may ignore the response code); a literal password works too, and
# commands pipelined after LOGIN reach the mail process.
@connect imap second
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: b1 CAPABILITY
S: * CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN AUTH=LOGIN AUTH=CRAM-MD5 AUTH=SCRAM-SHA-1 AUTH=SCRAM-SHA-256
S: b1 OK Pre-login capabilities listed, post-login capabilities have more.
C: b2 LOGIN "bob" {7}
S: + OK
@send "hunter2\r\nb3 NOOP\r\nb4 LOGOUT\r\n"
S: * CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN LIST-STATUS BINARY MOVE STATUS=SIZE SAVEDATE LITERAL+
S: b2 OK Logged in
S: b3 OK NOOP completed ({*} secs).
S: * BYE Logging out
S: b4 OK Logout completed ({*} secs).
@eof
