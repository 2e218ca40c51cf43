# Answers to commands pipelined before LOGIN go out before the login's own answer (which the
# mail process sends).
@connect imap
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
@send "a NOOP\r\nb LOGIN alice secret\r\nc LOGOUT\r\n"
S: a OK NOOP completed.
S: b OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID {*}] Logged in
S: * BYE Logging out
S: c OK Logout completed{*}
@eof
