# login_greeting's %variables are expanded per connection (local and remote IP, service).
@config login_greeting = IMAP at %l for %{rip} (%s) ready.
@connect imap
S: * OK [CAPABILITY {*}] IMAP at 127.0.0.1 for 127.0.0.1 (imap) ready.
C: a LOGOUT
S: * BYE Logging out
S: a OK Logout completed.
@eof
