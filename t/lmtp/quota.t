# The quota plugin in LMTP, as Dovecot 2.3.19.1 answers (checked with the oracle, same
# configuration, same messages): a delivery that does not fit is refused at DATA with
# `552 5.2.2` and quota_exceeded_message, for that recipient only; the first message of a
# delivery may go over by quota_grace (10% by default); with lmtp_rcpt_check_quota = yes a
# user already over quota is refused at RCPT TO.
@config protocols = imap lmtp
@config mail_location = maildir:{root}/mail/%u
@config mail_plugins = $mail_plugins quota
@config lmtp_rcpt_check_quota = yes
@config plugin {
@config   quota = maildir:User quota
@config   quota_rule = *:storage=10K
@config }
@connect lmtp
S: 220 {*} Dovecot (Debian) ready.
C: LHLO client.example
S: 250-{*}
S: 250-8BITMIME
S: 250-CHUNKING
S: 250-ENHANCEDSTATUSCODES
S: 250-PIPELINING
S: 250 STARTTLS
# 5000 bytes: fits.
C: MAIL FROM:<sender@example.com>
S: 250 2.1.0 OK
C: RCPT TO:<alice>
S: 250 2.1.5 OK
C: DATA
S: 354 OK
C: Subject: one
C:
@repeat 50 "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n"
C: .
S: 250 2.0.0 <alice> {*} Saved
# 8000 more do not fit, even with the grace: refused at DATA for alice, bob gets it.
C: MAIL FROM:<sender@example.com>
S: 250 2.1.0 OK
C: RCPT TO:<alice>
S: 250 2.1.5 OK
C: RCPT TO:<bob>
S: 250 2.1.5 OK
C: DATA
S: 354 OK
C: Subject: two
C:
@repeat 80 "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n"
C: .
S: 552 5.2.2 <alice> Quota exceeded (mailbox for user is full)
S: 250 2.0.0 <bob> {*} Saved
# 5000 more fit only by the grace: saved, and alice is over quota now.
C: MAIL FROM:<sender@example.com>
S: 250 2.1.0 OK
C: RCPT TO:<alice>
S: 250 2.1.5 OK
C: DATA
S: 354 OK
C: Subject: three
C:
@repeat 50 "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n"
C: .
S: 250 2.0.0 <alice> {*} Saved
# Over quota: refused at RCPT TO (lmtp_rcpt_check_quota), even for a small message.
C: MAIL FROM:<sender@example.com>
S: 250 2.1.0 OK
C: RCPT TO:<alice>
S: 552 5.2.2 <alice> Quota exceeded (mailbox for user is full)
C: RCPT TO:<bob>
S: 250 2.1.5 OK
C: DATA
S: 354 OK
C: Subject: four
C:
C: small
C: .
S: 250 2.0.0 <bob> {*} Saved
C: QUIT
S: 221 2.0.0 Bye
@eof
