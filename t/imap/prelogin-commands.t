# Commands before login answer as Dovecot 2.3's imap-login does.
@connect imap
S: * OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN AUTH=LOGIN AUTH=CRAM-MD5 AUTH=SCRAM-SHA-1 AUTH=SCRAM-SHA-256] Dovecot (Debian) ready.
C: a1 ID ("name" "transcript" "version" "1.0")
S: * ID ("name" "cote")
S: a1 OK ID completed.
C: a2 ID NIL
S: * ID ("name" "cote")
S: a2 OK ID completed.
C: a3 ID (name transcript)
S: a3 BAD Invalid ID parameters
C: a4 ENABLE CONDSTORE
S: * ENABLED
S: a4 OK ENABLE ignored in non-authenticated state.
# LOGIN, AUTHENTICATE and STARTTLS: t/imap/login-*.t.
C: a7 noop
S: a7 OK NOOP completed.
C: a8 LOGOUT
S: * BYE Logging out
S: a8 OK Logout completed.
@eof
