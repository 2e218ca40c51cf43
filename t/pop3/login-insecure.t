# From 127.0.0.2 the connection is not secured: no plaintext authentication until STLS
# (disable_plaintext_auth = yes, Dovecot's default).
@config protocols = imap pop3
@config mail_location = maildir:{root}/mail/%u
@connect pop3 from 127.0.0.2
S: +OK Dovecot (Debian) ready.
C: CAPA
S: +OK
S: CAPA
S: TOP
S: UIDL
S: RESP-CODES
S: PIPELINING
S: AUTH-RESP-CODE
S: STLS
S: SASL CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256
S: .
C: USER alice
S: -ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.
C: PASS secret
S: -ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.
C: AUTH PLAIN AGFsaWNlAHNlY3JldA==
S: -ERR [AUTH] Plaintext authentication disabled.
C: AUTH
S: +OK
S: CRAM-MD5
S: SCRAM-SHA-1
S: SCRAM-SHA-256
S: .
C: STLS
S: +OK Begin TLS negotiation now.
@starttls
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
C: USER alice
S: +OK
C: PASS secret
S: +OK Logged in.
C: STAT
S: +OK 0 0
C: QUIT
S: +OK Logging out.
@eof

# STLS injection: commands pipelined after STLS in the same packet are plaintext; they are
# thrown away, never executed before or after the handshake (here they would have logged in).
@connect pop3 inject from 127.0.0.2
S: +OK Dovecot (Debian) ready.
@send "STLS\r\nUSER alice\r\nPASS secret\r\n"
S: +OK Begin TLS negotiation now.
@starttls
C: PASS secret
S: -ERR No username given.
C: QUIT
S: +OK Logging out
@eof
