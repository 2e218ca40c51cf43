# CATENATE composes the message in memory until it is saved, and a few bytes of URLs can name
# many copies of a large message: a composed message may not grow past the imap service's
# memory limit (vsz_limit), refused with Dovecot's text for a composed size it cannot count.
# (Dovecot 2.3 streams the parts to disk and has no such limit.)
@config service imap {
@config   vsz_limit = 1M
@config }
@connect imap
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a LOGIN alice secret
S: a OK [CAPABILITY {*}] Logged in
@send "b APPEND INBOX {524288+}\r\n"
@repeat 524288 "x"
@send "\r\n"
S: b OK [APPENDUID {*} 1] Append completed ({*} secs).
C: c APPEND INBOX CATENATE (URL "/INBOX/;UID=1" URL "/INBOX/;UID=1" URL "/INBOX/;UID=1")
S: c NO [TOOBIG] Composed message grows too big ({*} secs).
C: d APPEND INBOX CATENATE (URL "/INBOX/;UID=1" TEXT {1}
S: + OK
@send "y"
C:  URL "/INBOX/;UID=1")
S: d NO [TOOBIG] Composed message grows too big ({*} secs).
C: e APPEND INBOX CATENATE (URL "/INBOX/;UID=1" URL "/INBOX/;UID=1")
S: e OK [APPENDUID {*} 2] Append completed ({*} secs).
C: f STATUS INBOX (MESSAGES SIZE)
S: * STATUS INBOX (MESSAGES 2 SIZE 1572864)
S: f OK Status completed ({*} secs).
C: g LOGOUT
S: * BYE Logging out
S: g OK Logout completed ({*} secs).
@eof
