# LMTP commands and their errors, as Dovecot 2.3.19.1 (Debian) answers them.
@config protocols = imap lmtp
@config mail_location = maildir:{root}/mail/%u
@connect lmtp
S: 220 {*} Dovecot (Debian) ready.
C: LHLO
S: 501 Missing hostname
C: LHLO client.example
S: 250-{*}
S: 250-8BITMIME
S: 250-CHUNKING
S: 250-ENHANCEDSTATUSCODES
S: 250-PIPELINING
S: 250 STARTTLS
C: HELO client.example
S: 500 5.5.1 Unknown command
C: VRFY alice
S: 252 2.3.3 Try RCPT instead
C: VRFY
S: 501 5.5.4 Invalid parameters
C: NOOP
S: 250 2.0.0 OK
C: RCPT TO:<alice>
S: 503 5.5.0 MAIL needed first
C: DATA
S: 503 5.5.0 MAIL needed first
C: MAIL FROM:sender@example.com
S: 501 5.5.4 Invalid FROM: Missing '<' at beginning of path
C: MAIL FROM: <sender@example.com>
S: 501 5.5.4 Invalid FROM: Unexpected whitespace before path
C: MAIL  FROM:<sender@example.com>
S: 500 5.5.2 Invalid command syntax
C: MAIL FROM:<sender@example.com> SIZE=100
S: 555 5.5.4 Unsupported parameters
C: MAIL FROM:<sender@example.com> SMTPUTF8
S: 555 5.5.4 Unsupported parameters
C: mail from:<sender@example.com> BODY=8BITMIME
S: 250 2.1.0 OK
C: MAIL FROM:<other@example.com>
S: 503 5.5.0 MAIL already given
C: DATA
S: 503 5.5.0 No valid recipients
C: RCPT TO:<nosuch>
S: 550 5.1.1 <nosuch> User doesn't exist: nosuch
C: RCPT TO:<nosuch@example.com>
S: 550 5.1.1 <nosuch@example.com> User doesn't exist: nosuch@example.com
C: RCPT TO:<>
S: 501 5.5.4 Invalid TO: Null path not allowed
C: RCPT TO: <alice>
S: 501 5.5.4 Invalid TO: Unexpected whitespace before path
C: RCPT TO:<alice@>
S: 501 5.5.4 Invalid TO: Missing domain after '@'
C: RCPT TO:<alice> FOO=bar
S: 555 5.5.4 Unsupported parameters
C: RCPT TO:<alice>
S: 250 2.1.5 OK
C: RSET x
S: 501 5.5.4 Invalid parameters
C: RSET
S: 250 2.0.0 OK
C: DATA
S: 503 5.5.0 MAIL needed first
C: Subject: hi
S: 500 5.5.2 Invalid command syntax
C: FOO
S: 500 5.5.1 Unknown command
C: QUIT x
S: 501 5.5.4 Invalid parameters
C: QUIT
S: 221 2.0.0 Bye
@eof

# Nothing is answered after QUIT, even when it was pipelined.
@connect lmtp after-quit
S: 220 {*} Dovecot (Debian) ready.
@send "QUIT\r\nNOOP\r\n"
S: 221 2.0.0 Bye
@eof
