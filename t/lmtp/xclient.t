# XCLIENT: a proxy in login_trusted_networks may name the real client (its address and LHLO
# name go into the Received header); anyone else is refused. Texts as Dovecot 2.3.19.1
# (Debian) answers them; cote leaves XRCPTFORWARD (for lmtp_proxy, not implemented) out of LHLO.
@config protocols = imap pop3 lmtp
@config mail_location = maildir:{root}/mail/%u
@config login_trusted_networks = 127.0.0.2
@connect lmtp from 127.0.0.2
S: 220 {*} Dovecot (Debian) ready.
C: LHLO proxy.example
S: 250-{*}
S: 250-8BITMIME
S: 250-CHUNKING
S: 250-ENHANCEDSTATUSCODES
S: 250-PIPELINING
S: 250-STARTTLS
S: 250 XCLIENT ADDR PORT PROTO HELO LOGIN SESSION TTL TIMEOUT
C: MAIL FROM:<a@example.com>
S: 250 2.1.0 OK
C: XCLIENT ADDR=192.0.2.7
S: 503 5.5.0 XCLIENT not permitted during a mail transaction
C: RSET
S: 250 2.0.0 OK
C: XCLIENT ADDR=192.0.2.7 PORT=4000 HELO=relay.example PROTO=SMTP FOO=bar
S: 220 {*} Dovecot (Debian) ready.
C: MAIL FROM:<a@example.com>
S: 250 2.1.0 OK
C: RCPT TO:<alice>
S: 250 2.1.5 OK
C: DATA
S: 354 OK
C: Subject: via proxy
C: 
C: hi
C: .
S: 250 2.0.0 <alice> {*} Saved
C: QUIT
S: 221 2.0.0 Bye
@eof

@connect lmtp direct
S: 220 {*} Dovecot (Debian) ready.
C: LHLO client.example
S: 250-{*}
S: 250-8BITMIME
S: 250-CHUNKING
S: 250-ENHANCEDSTATUSCODES
S: 250-PIPELINING
S: 250 STARTTLS
C: XCLIENT ADDR=192.0.2.7
S: 550 5.7.14 You are not from trusted IP
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
S: Delivered-To: alice
S: Received: from relay.example ([192.0.2.7])
S: {*}by {*} with LMTP
S: {*}id {*}
S: {*}(envelope-from <a@example.com>)
S: {*}for <alice>; {*}
S: Subject: via proxy
S: 
S: .
C: QUIT
S: +OK Logging out.
@eof
