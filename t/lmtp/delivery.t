# DATA: one reply per recipient, each only once the message is saved; a recipient given
# twice is delivered to once; the session id of each delivery; the message can be read back
# over POP3 with the headers LMTP added (the runner prints a TAB escaped: {*} stands for
# it). Texts as Dovecot 2.3.19.1 (Debian) answers them.
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
C: MAIL FROM:<sender@example.com>
S: 250 2.1.0 OK
C: RCPT TO:<alice>
S: 250 2.1.5 OK
C: RCPT TO:<nosuch>
S: 550 5.1.1 <nosuch> User doesn't exist: nosuch
C: RCPT TO:<bob>
S: 250 2.1.5 OK
C: RCPT TO:<alice>
S: 250 2.1.5 OK
C: DATA
S: 354 OK
C: Subject: first
C: 
C: ..one dot
C: .
S: 250 2.0.0 <alice> {*} Saved
S: 250 2.0.0 <bob> {*}:R3 Saved
S: 250 2.0.0 <alice> {*} Saved
# Pipelined, with a single recipient (Delivered-To and "for" in Received then).
@send "MAIL FROM:<>\r\nRCPT TO:<bob>\r\nDATA\r\n"
S: 250 2.1.0 OK
S: 250 2.1.5 OK
S: 354 OK
@send "Subject: second\r\n\r\nbody\r\n.\r\nQUIT\r\n"
S: 250 2.0.0 <bob> {*}:T2 Saved
S: 221 2.0.0 Bye
@eof

@connect pop3
S: +OK Dovecot (Debian) ready.
C: USER bob
S: +OK
C: PASS hunter2
S: +OK Logged in.
C: STAT
S: +OK 2 {*}
C: TOP 1 5
S: +OK
S: Return-Path: <sender@example.com>
S: Received: from client.example ([127.0.0.1])
S: {*}by {*} with LMTP
S: {*}id {*}
S: {*}(envelope-from <sender@example.com>); {*}
S: Subject: first
S: 
S: ..one dot
S: .
C: TOP 2 5
S: +OK
S: Return-Path: <>
S: Delivered-To: bob
S: Received: from client.example ([127.0.0.1])
S: {*}by {*} with LMTP
S: {*}id {*}
S: {*}(envelope-from <>)
S: {*}for <bob>; {*}
S: Subject: second
S: 
S: body
S: .
C: QUIT
S: +OK Logging out.
@eof
