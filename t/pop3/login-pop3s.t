# pop3s: TLS from the first byte; the session is secured.
@config protocols = imap pop3
@config mail_location = maildir:{root}/mail/%u
@connect pop3s
S: +OK Dovecot (Debian) ready.
C: CAPA
S: +OK
S: CAPA
S: TOP
S: UIDL
S: RESP-CODES
S: PIPELINING
S: AUTH-RESP-CODE
S: USER
S: SASL PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256
S: .
C: STLS
S: -ERR TLS is already active.
C: USER bob
S: +OK
C: PASS hunter2
S: +OK Logged in.
C: LIST
S: +OK 0 messages:
S: .
C: QUIT
S: +OK Logging out.
@eof
