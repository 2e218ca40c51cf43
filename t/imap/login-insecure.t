# From 127.0.0.2 to 127.0.0.1 the connection is not "secured" (Dovecot's rule: TLS, same IP
# on both ends, or login_trusted_networks): LOGINDISABLED, no plaintext mechanisms, and a
# password sent anyway is refused with Dovecot's alert.
@connect imap remote from 127.0.0.2
S: * OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS LOGINDISABLED AUTH=CRAM-MD5 AUTH=SCRAM-SHA-1 AUTH=SCRAM-SHA-256] Dovecot (Debian) ready.
C: a1 LOGIN alice secret
S: * BAD [ALERT] Plaintext authentication not allowed without SSL/TLS, but your client did it anyway. If anyone was listening, the password was exposed.
S: a1 NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.
C: a2 AUTHENTICATE PLAIN
S: a2 NO [PRIVACYREQUIRED] Plaintext authentication disabled.
C: a3 AUTHENTICATE LOGIN
S: a3 NO [PRIVACYREQUIRED] Plaintext authentication disabled.
# After STARTTLS the same client may log in, and STARTTLS is no longer offered.
C: a4 STARTTLS
S: a4 OK Begin TLS negotiation now.
@starttls
C: a5 CAPABILITY
S: * CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN AUTH=LOGIN AUTH=CRAM-MD5 AUTH=SCRAM-SHA-1 AUTH=SCRAM-SHA-256
S: a5 OK Pre-login capabilities listed, post-login capabilities have more.
C: a6 STARTTLS
S: a6 BAD TLS is already active.
C: a7 LOGIN alice secret
S: * CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY
S: a7 OK Logged in
C: a8 LOGOUT
S: * BYE Logging out
S: a8 OK Logout completed ({*} secs).
@eof
