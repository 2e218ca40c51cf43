# BDAT (CHUNKING, RFC 3030): chunks taken as they are, one reply per recipient after the
# LAST chunk; a chunk's bytes are read even when the command is refused, and after a failed
# chunk BDAT and DATA are refused until RSET. Texts as Dovecot 2.3.19.1 (Debian) answers them.
@config protocols = imap pop3 lmtp
@config mail_location = maildir:{root}/mail/%u
@connect lmtp
S: 220 {*} Dovecot (Debian) ready.
C: LHLO client.example
S: 250-{*}
S: 250-8BITMIME
S: 250-CHUNKING
S: 250-ENHANCEDSTATUSCODES
S: 250-PIPELINING
S: 250 STARTTLS
@send "BDAT 3\r\nMAIL FROM:<a@example.com>\r\n"
S: 503 5.5.0 MAIL needed first
S: 500 5.5.1 Unknown command
C: BDAT
S: 501 5.5.4 Invalid chunk size parameter
C: BDAT x
S: 501 5.5.4 Invalid chunk size parameter
C: BDAT 99999999999999999999999
S: 501 5.5.4 Invalid chunk size parameter
C: MAIL FROM:<a@example.com>
S: 250 2.1.0 OK
C: RCPT TO:<alice>
S: 250 2.1.5 OK
@send "BDAT 0 LAST\r\n"
S: 503 5.5.0 Previous data chunk failed, issue RSET first
C: DATA
S: 503 5.5.0 Previous data chunk failed, issue RSET first
C: RSET
S: 250 2.0.0 OK
C: MAIL FROM:<a@example.com>
S: 250 2.1.0 OK
@send "BDAT 2 LAST\r\nab"
S: 503 5.5.0 No valid recipients
C: RSET
S: 250 2.0.0 OK
C: MAIL FROM:<a@example.com>
S: 250 2.1.0 OK
C: RCPT TO:<alice>
S: 250 2.1.5 OK
@send "BDAT 3 LAST foo\r\nabc"
S: 501 5.5.4 Invalid parameters
C: RSET
S: 250 2.0.0 OK
C: MAIL FROM:<a@example.com>
S: 250 2.1.0 OK
C: RCPT TO:<alice>
S: 250 2.1.5 OK
C: RCPT TO:<bob>
S: 250 2.1.5 OK
@send "BDAT 21\r\nSubject: chunked\r\n\r\n."
S: 250 2.0.0 Added 21 octets
C: DATA
S: 503 5.5.0 Bad sequence of commands
@send "BDAT 8 last\r\ndot\r\n.\r\n"
S: 250 2.0.0 <alice> {*} Saved
S: 250 2.0.0 <bob> {*}:R2 Saved
C: QUIT
S: 221 2.0.0 Bye
@eof

@connect pop3
S: +OK Dovecot (Debian) ready.
C: USER bob
S: +OK
C: PASS hunter2
S: +OK Logged in.
C: TOP 1 100
S: +OK
S: Return-Path: <a@example.com>
S: Received: from client.example ([127.0.0.1])
S: {*}by {*} with LMTP
S: {*}id {*}
S: {*}(envelope-from <a@example.com>); {*}
S: Subject: chunked
S: 
S: ..dot
S: ..
S: .
C: QUIT
S: +OK Logging out.
@eof
