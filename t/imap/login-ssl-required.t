# ssl = required: no authentication of any kind on a connection that is not secured; a
# loopback connection from the server's own address counts as secured (Dovecot's rule).
@config ssl = required
@connect imap remote from 127.0.0.2
S: * OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS LOGINDISABLED] Dovecot (Debian) ready.
C: a1 AUTHENTICATE CRAM-MD5
S: a1 NO [PRIVACYREQUIRED] Authentication not allowed until SSL/TLS is enabled.
C: a2 LOGIN alice secret
S: * BAD [ALERT] Plaintext authentication not allowed without SSL/TLS, but your client did it anyway. If anyone was listening, the password was exposed.
S: a2 NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.
C: a3 STARTTLS
S: a3 OK Begin TLS negotiation now.
@starttls
C: a4 LOGIN alice secret
S: a4 OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN LIST-STATUS BINARY MOVE STATUS=SIZE SAVEDATE LITERAL+] Logged in
C: a5 LOGOUT
S: * BYE Logging out
S: a5 OK Logout completed ({*} secs).
@eof

@connect imap local
S: * OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN AUTH=LOGIN AUTH=CRAM-MD5 AUTH=SCRAM-SHA-1 AUTH=SCRAM-SHA-256] Dovecot (Debian) ready.
C: b1 LOGIN bob hunter2
S: b1 OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN LIST-STATUS BINARY MOVE STATUS=SIZE SAVEDATE LITERAL+] Logged in
C: b2 LOGOUT
S: * BYE Logging out
S: b2 OK Logout completed ({*} secs).
@eof
