# The TRANSACTION state on an empty INBOX: every command and its argument errors, then the
# UPDATE state. Texts as Dovecot 2.3.19.1 (Debian) answers them. (tests/pop3_oracle.rs
# compares messages, UIDLs and deletes with a private Dovecot on the same Maildir.)
@config protocols = imap pop3
@config mail_location = maildir:{root}/mail/%u
@connect pop3
S: +OK Dovecot (Debian) ready.
C: USER alice
S: +OK
C: PASS secret
S: +OK Logged in.
C: CAPA
S: +OK
S: CAPA
S: TOP
S: UIDL
S: RESP-CODES
S: PIPELINING
S: AUTH-RESP-CODE
S: .
C: STAT
S: +OK 0 0
C: LIST
S: +OK 0 messages:
S: .
C: UIDL
S: +OK
S: .
C: LIST 1
S: -ERR There's no message 1.
C: RETR 0
S: -ERR There's no message 0.
C: RETR
S: -ERR Invalid message number: 
C: DELE x
S: -ERR Invalid message number: x
C: TOP 1
S: -ERR Noise after message number: 
C: UIDL 1 2
S: -ERR Noise after message number:  2
C: LIST 99999999999
S: -ERR Message number too large: 
C: LAST
S: -ERR Unknown command: LAST
C: user alice
S: -ERR Unknown command: USER
C: 
S: -ERR Unknown command.
C: NOOP
S: +OK
C: RSET
S: +OK
C: quit
S: +OK Logging out.
@eof

# Twenty bad commands in a row are answered; the 21st ends the session.
@connect pop3 bad
S: +OK Dovecot (Debian) ready.
C: USER bob
S: +OK
C: PASS hunter2
S: +OK Logged in.
@repeat 20 "XYZ\r\n"
S: -ERR Unknown command: XYZ
S: -ERR Unknown command: XYZ
S: -ERR Unknown command: XYZ
S: -ERR Unknown command: XYZ
S: -ERR Unknown command: XYZ
S: -ERR Unknown command: XYZ
S: -ERR Unknown command: XYZ
S: -ERR Unknown command: XYZ
S: -ERR Unknown command: XYZ
S: -ERR Unknown command: XYZ
S: -ERR Unknown command: XYZ
S: -ERR Unknown command: XYZ
S: -ERR Unknown command: XYZ
S: -ERR Unknown command: XYZ
S: -ERR Unknown command: XYZ
S: -ERR Unknown command: XYZ
S: -ERR Unknown command: XYZ
S: -ERR Unknown command: XYZ
S: -ERR Unknown command: XYZ
S: -ERR Unknown command: XYZ
C: STAT
S: +OK 0 0
@repeat 21 "LIST x\r\n"
S: -ERR Invalid message number: x
S: -ERR Invalid message number: x
S: -ERR Invalid message number: x
S: -ERR Invalid message number: x
S: -ERR Invalid message number: x
S: -ERR Invalid message number: x
S: -ERR Invalid message number: x
S: -ERR Invalid message number: x
S: -ERR Invalid message number: x
S: -ERR Invalid message number: x
S: -ERR Invalid message number: x
S: -ERR Invalid message number: x
S: -ERR Invalid message number: x
S: -ERR Invalid message number: x
S: -ERR Invalid message number: x
S: -ERR Invalid message number: x
S: -ERR Invalid message number: x
S: -ERR Invalid message number: x
S: -ERR Invalid message number: x
S: -ERR Invalid message number: x
S: -ERR Invalid message number: x
S: -ERR Too many bad commands.
@eof

# A line longer than the input buffer ends the session.
@connect pop3 long
S: +OK Dovecot (Debian) ready.
C: USER alice
S: +OK
C: PASS secret
S: +OK Logged in.
@repeat 3000 "A"
@send "\r\n"
S: -ERR Input line too long.
@eof

# Nothing is answered after QUIT, even when it was pipelined.
@connect pop3 after-quit
S: +OK Dovecot (Debian) ready.
C: USER alice
S: +OK
C: PASS secret
S: +OK Logged in.
@send "QUIT\r\nSTAT\r\n"
S: +OK Logging out.
@eof
