# STARTTLS: offered in LHLO while the connection is plaintext (ssl = yes); after the
# handshake the session starts over (LHLO again, no greeting) and STARTTLS is neither
# offered nor accepted; the Received header then names the TLS and says LMTPS. Texts as
# Dovecot 2.3.19.1 (Debian) answers them.
@config protocols = imap pop3 lmtp
@config mail_location = maildir:{root}/mail/%u
@config lmtp_add_received_header = yes
@connect lmtp
S: 220 {*} Dovecot (Debian) ready.
C: LHLO client.example
S: 250-{*}
S: 250-8BITMIME
S: 250-CHUNKING
S: 250-ENHANCEDSTATUSCODES
S: 250-PIPELINING
S: 250 STARTTLS
C: STARTTLS x
S: 501 5.5.4 Invalid parameters
C: MAIL FROM:<a@example.com>
S: 250 2.1.0 OK
C: STARTTLS
S: 220 2.0.0 Begin TLS negotiation now.
@starttls
C: RCPT TO:<alice>
S: 503 5.5.0 MAIL needed first
C: LHLO client.example
S: 250-{*}
S: 250-8BITMIME
S: 250-CHUNKING
S: 250-ENHANCEDSTATUSCODES
S: 250 PIPELINING
C: STARTTLS
S: 502 5.5.1 TLS is already active.
C: MAIL FROM:<a@example.com>
S: 250 2.1.0 OK
C: RCPT TO:<bob>
S: 250 2.1.5 OK
C: DATA
S: 354 OK
C: Subject: over tls
C: .
S: 250 2.0.0 <bob> {*} Saved
C: QUIT
S: 221 2.0.0 Bye
@eof

@connect pop3
S: +OK Dovecot (Debian) ready.
C: USER bob
S: +OK
C: PASS hunter2
S: +OK Logged in.
C: TOP 1 0
S: +OK
S: Return-Path: <a@example.com>
S: Delivered-To: bob
S: Received: from client.example ([127.0.0.1])
S: {*}(using TLSv1.3 with cipher {*} ({*} bits))
S: {*}by {*} with LMTPS
S: {*}id {*}
S: {*}(envelope-from <a@example.com>)
S: {*}for <bob>; {*}
S: Subject: over tls
S: .
C: QUIT
S: +OK Logging out.
@eof
