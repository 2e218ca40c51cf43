# STARTTLS then LOGIN; implicit TLS (imaps). Over TLS the greeting has no STARTTLS.
@connect imap
S: * OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN AUTH=LOGIN AUTH=CRAM-MD5 AUTH=SCRAM-SHA-1 AUTH=SCRAM-SHA-256] Dovecot (Debian) ready.
C: a1 STARTTLS
S: a1 OK Begin TLS negotiation now.
@starttls
C: a2 LOGIN alice secret
S: a2 OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE MULTIAPPEND UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED ESEARCH SEARCHRES WITHIN LIST-STATUS BINARY MOVE STATUS=SIZE SAVEDATE LITERAL+] Logged in
C: a3 NOOP
S: a3 OK NOOP completed ({*} secs).
C: a4 LOGOUT
S: * BYE Logging out
S: a4 OK Logout completed ({*} secs).
@eof

@connect imaps
S: * OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN AUTH=LOGIN AUTH=CRAM-MD5 AUTH=SCRAM-SHA-1 AUTH=SCRAM-SHA-256] Dovecot (Debian) ready.
C: b1 STARTTLS
S: b1 BAD TLS is already active.
C: b2 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==
S: b2 OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE MULTIAPPEND UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED ESEARCH SEARCHRES WITHIN LIST-STATUS BINARY MOVE STATUS=SIZE SAVEDATE LITERAL+] Logged in
C: b3 ID ("name" "transcript")
S: * ID ("name" "cote")
S: b3 OK ID completed ({*} secs).
C: b4 LOGOUT
S: * BYE Logging out
S: b4 OK Logout completed ({*} secs).
@eof

# STARTTLS injection: a command pipelined after STARTTLS in the same packet is plaintext
# and is thrown away; only what comes over TLS is executed.
@connect imap inject
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
@send "c1 STARTTLS\r\nc2 LOGIN alice secret\r\n"
S: c1 OK Begin TLS negotiation now.
@starttls
C: c3 NOOP
S: c3 OK NOOP completed.
C: c4 LOGOUT
S: * BYE Logging out
S: c4 OK Logout completed.
@eof
