# lmtp_user_concurrency_limit: a user's deliveries in progress are counted from RCPT TO until
# the delivery is done (across connections and processes); over the limit RCPT TO is refused
# for now. lmtp_hdr_delivery_address = original: Delivered-To names ORCPT's address, and is
# left out without one. Texts as Dovecot 2.3.19.1 (Debian) answers them.
@config protocols = imap pop3 lmtp
@config mail_location = maildir:{root}/mail/%u
@config lmtp_user_concurrency_limit = 1
@config lmtp_hdr_delivery_address = original
@config lmtp_add_received_header = no
@connect lmtp first
S: 220 {*} Dovecot (Debian) ready.
C: LHLO client.example
S: 250-{*}
S: 250-8BITMIME
S: 250-CHUNKING
S: 250-ENHANCEDSTATUSCODES
S: 250-PIPELINING
S: 250 STARTTLS
C: MAIL FROM:<a@example.com>
S: 250 2.1.0 OK
C: RCPT TO:<alice> ORCPT=rfc822;Alice+40example.org
S: 250 2.1.5 OK
C: RCPT TO:<alice>
S: 451 4.3.0 <alice> Too many concurrent deliveries for user
@connect lmtp second
S: 220 {*} Dovecot (Debian) ready.
C: MAIL FROM:<b@example.com>
S: 250 2.1.0 OK
C: RCPT TO:<alice>
S: 451 4.3.0 <alice> Too many concurrent deliveries for user
C: RCPT TO:<bob>
S: 250 2.1.5 OK
C: DATA
S: 354 OK
C: Subject: to bob
C: .
S: 250 2.0.0 <bob> {*} Saved
@use first
C: DATA
S: 354 OK
C: Subject: to alice
C: .
S: 250 2.0.0 <alice> {*} Saved
# The delivery is over: the slot is free again.
@use second
C: MAIL FROM:<b@example.com>
S: 250 2.1.0 OK
C: RCPT TO:<alice>
S: 250 2.1.5 OK
C: RSET
S: 250 2.0.0 OK
C: QUIT
S: 221 2.0.0 Bye
@eof
@use first
C: QUIT
S: 221 2.0.0 Bye
@eof

@connect pop3
S: +OK Dovecot (Debian) ready.
C: USER alice
S: +OK
C: PASS secret
S: +OK Logged in.
C: TOP 1 0
S: +OK
S: Return-Path: <a@example.com>
S: Delivered-To: Alice@example.org
S: Subject: to alice
S: .
C: QUIT
S: +OK Logging out.
@eof

@connect pop3 bob
S: +OK Dovecot (Debian) ready.
C: USER bob
S: +OK
C: PASS hunter2
S: +OK Logged in.
C: TOP 1 0
S: +OK
S: Return-Path: <b@example.com>
S: Subject: to bob
S: .
C: QUIT
S: +OK Logging out.
@eof
