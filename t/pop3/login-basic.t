# pop3-login: greeting, CAPA, USER/PASS, errors before login, QUIT. Texts as Dovecot 2.3.19.1
# (Debian) answers them; 127.0.0.1 -> 127.0.0.1 counts as secured (plaintext allowed).
@config protocols = imap pop3
@config mail_location = maildir:{root}/mail/%u
@connect pop3
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
S: USER
S: SASL PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256
S: .
# PASS without USER, a wrong password, then the right one.
C: PASS secret
S: -ERR No username given.
C: USER alice
S: +OK
C: PASS wrong
S: -ERR [AUTH] Authentication failed.
C: PASS secret
S: -ERR No username given.
C: user alice
S: +OK
C: pass secret
S: +OK Logged in.
C: STAT
S: +OK 0 0
C: QUIT
S: +OK Logging out.
@eof

# APOP is not offered (no challenge in the greeting); XCLIENT from an untrusted address.
@connect pop3 other
S: +OK Dovecot (Debian) ready.
C: APOP alice 0123456789abcdef0123456789abcdef
S: -ERR APOP not enabled.
C: XCLIENT ADDR=192.0.2.1
S: +OK You are not from trusted IP - ignoring
C: XOIP 192.0.2.1
S: +OK You are not from trusted IP - ignoring
C: QUIT
S: +OK Logging out
@eof

# QUIT before logging in.
@connect pop3 quit
S: +OK Dovecot (Debian) ready.
C: QUIT
S: +OK Logging out
@eof

# Three unknown commands in a row end the session; a known one in between resets the count.
@connect pop3 bad
S: +OK Dovecot (Debian) ready.
C: FOO
S: -ERR Unknown command.
C: STAT
S: -ERR Unknown command.
C: CAPA
S: +OK
S: CAPA
S: TOP
S: UIDL
S: RESP-CODES
S: PIPELINING
S: AUTH-RESP-CODE
S: STLS
S: USER
S: SASL PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256
S: .
C: RETR 1
S: -ERR Unknown command.
C: LIST
S: -ERR Unknown command.
C: X
S: -ERR Unknown command.
S: -ERR Too many invalid bad commands.
@eof

# Commands pipelined after PASS reach the mail process.
@connect pop3 pipelined
S: +OK Dovecot (Debian) ready.
@send "USER bob\r\nPASS hunter2\r\nSTAT\r\nLIST\r\nQUIT\r\n"
S: +OK
S: +OK Logged in.
S: +OK 0 0
S: +OK 0 messages:
S: .
S: +OK Logging out.
@eof
