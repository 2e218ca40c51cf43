# STARTTLS: offered in LHLO while the connection is plaintext (ssl = yes); after the
# handshake the session starts over (LHLO again, no greeting) and STARTTLS is neither
# offered nor accepted. Texts as Dovecot 2.3.19.1 (Debian) answers them.
@config protocols = imap lmtp
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
C: QUIT
S: 221 2.0.0 Bye
@eof
