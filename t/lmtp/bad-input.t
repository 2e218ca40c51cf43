# Bad input to LMTP: bare LF line ends and a NUL byte in DATA (stored, sent back with CRLF),
# a client that vanishes in the middle of DATA (nothing delivered, nothing half-written),
# commands after QUIT. Texts as Dovecot 2.3.19.1 (Debian) answers them.
@config protocols = imap pop3 lmtp
@config mail_location = maildir:{root}/mail/%u
@connect lmtp
S: 220 {*} Dovecot (Debian) ready.
@send "LHLO client.example\nMAIL FROM:<s@example.com>\nRCPT TO:<alice>\nDATA\n"
S: 250-{*}
S: 250-8BITMIME
S: 250-CHUNKING
S: 250-ENHANCEDSTATUSCODES
S: 250-PIPELINING
S: 250 STARTTLS
S: 250 2.1.0 OK
S: 250 2.1.5 OK
S: 354 OK
@send "Subject: bare lf\n\nnul \0 here\n..dot\n.\n"
S: 250 2.0.0 <alice> {*} Saved
C: QUIT
S: 221 2.0.0 Bye
@eof

@connect lmtp gone
S: 220 {*} Dovecot (Debian) ready.
C: LHLO client.example
S: 250-{*}
S: 250-8BITMIME
S: 250-CHUNKING
S: 250-ENHANCEDSTATUSCODES
S: 250-PIPELINING
S: 250 STARTTLS
C: MAIL FROM:<s@example.com>
S: 250 2.1.0 OK
C: RCPT TO:<alice>
S: 250 2.1.5 OK
C: DATA
S: 354 OK
@send "Subject: cut off\r\n\r\nhalf a message"
@close
@sleep 200

@connect pop3
S: +OK Dovecot (Debian) ready.
C: USER alice
S: +OK
C: PASS secret
S: +OK Logged in.
C: STAT
S: +OK 1 {*}
C: TOP 1 3
S: +OK
S: Return-Path: <s@example.com>
S: Delivered-To: alice
S: Received: from client.example ([127.0.0.1])
S: {*}by {*} with LMTP
S: {*}id {*}
S: {*}(envelope-from <s@example.com>)
S: {*}for <alice>; {*}
S: Subject: bare lf
S: 
S: nul \x00 here
S: ..dot
S: .
C: QUIT
S: +OK Logging out.
@eof
