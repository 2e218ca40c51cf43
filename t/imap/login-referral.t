# LOGIN-REFERRALS (RFC 2221): a passdb that names another server (`host`, with `nologin`)
# refers the client there, `NO [REFERRAL imap://user;AUTH=mech@host:port/]`, and the client
# stays unauthenticated. (Without `nologin` the auth service passes no `host` on, and the
# login goes ahead.) Checked against Dovecot 2.3.19.1 with the same passdb.
@config passdb {
@config   driver = static
@config   args = password=pw host=imap.example.org port=1143 nologin=y
@config }
@connect imap
S: * OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE {*}] Dovecot (Debian) ready.
C: a LOGIN carol pw
S: a NO [REFERRAL imap://carol;AUTH=PLAIN@imap.example.org:1143/] Try this server instead.
C: b AUTHENTICATE PLAIN AGNhcm9sAHB3
S: b NO [REFERRAL imap://carol;AUTH=PLAIN@imap.example.org:1143/] Try this server instead.
C: c LOGOUT
S: * BYE Logging out
S: c OK Logout completed.
@eof
