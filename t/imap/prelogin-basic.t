# Before login: greeting, CAPABILITY, NOOP, LOGOUT.
@config login_greeting = Transcript server ready.
@connect imap
S: * OK [CAPABILITY IMAP4rev1 {*}] Transcript server ready.
C: a1 CAPABILITY
S: * CAPABILITY IMAP4rev1 {*}
S: a1 OK Pre-login capabilities listed, post-login capabilities have more.
C: a2 NOOP
S: a2 OK NOOP completed.
C: a3 LOGOUT
S: * BYE Logging out
S: a3 OK Logout completed.
@eof
