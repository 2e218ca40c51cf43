# APOP offered: the greeting carries the challenge; malformed APOP commands. (A correct digest
# depends on the challenge: tests/pop3_oracle.rs logs in with APOP.)
@config protocols = imap pop3
@config mail_location = maildir:{root}/mail/%u
@config auth_mechanisms = plain login cram-md5 scram-sha-1 scram-sha-256 apop
@connect pop3
S: +OK Dovecot (Debian) ready. <{*}.{*}.{*}.{*}@{*}>
C: AUTH
S: +OK
S: PLAIN
S: LOGIN
S: CRAM-MD5
S: SCRAM-SHA-1
S: SCRAM-SHA-256
S: .
C: APOP alice
S: -ERR Invalid parameters.
C: APOP alice 0123456789abcdef0123456789abcde
S: -ERR Invalid parameters.
C: APOP alice 0123456789abcdef0123456789abcdeg
S: -ERR Invalid characters in MD5 response.
C: APOP alice 0123456789abcdef0123456789abcdef
S: -ERR [AUTH] Authentication failed.
C: AUTH APOP
S: -ERR [AUTH] Unsupported authentication mechanism.
C: QUIT
S: +OK Logging out
@eof
