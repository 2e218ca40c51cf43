# mail_max_userip_connections: a user's sessions from one address are counted across mail
# processes (anvil). Past the limit the login is refused after authentication with the reply
# Debian's Dovecot 2.3.19.1 gives ([LIMIT], [IN-USE]) and the connection ends; other users,
# other addresses and other protocols are counted apart; a session that ends no longer
# counts once its connection has closed.
@config protocols = imap pop3
@config mail_max_userip_connections = 1
@connect imap first
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a1 LOGIN alice secret
S: a1 OK [CAPABILITY {*}] Logged in
@connect imap second
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: b1 LOGIN alice secret
S: b1 NO [LIMIT] Maximum number of connections from user+IP exceeded (mail_max_userip_connections=1)
@eof
@connect imap bob
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: c1 LOGIN bob hunter2
S: c1 OK [CAPABILITY {*}] Logged in
@connect imap other from 127.0.0.2
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: d1 STARTTLS
S: d1 OK Begin TLS negotiation now.
@starttls
C: d2 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==
S: d2 OK [CAPABILITY {*}] Logged in
@connect pop3
S: +OK Dovecot (Debian) ready.
C: USER alice
S: +OK
C: PASS secret
S: +OK Logged in.
@connect pop3 pop3again
S: +OK Dovecot (Debian) ready.
C: USER alice
S: +OK
C: PASS secret
S: -ERR [IN-USE] Maximum number of connections from user+IP exceeded (mail_max_userip_connections=1)
@eof
@use first
C: a2 LOGOUT
S: * BYE Logging out
S: a2 OK Logout completed ({*} secs).
@eof
@connect imap third
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: e1 LOGIN alice secret
S: e1 OK [CAPABILITY {*}] Logged in
C: e2 LOGOUT
S: * BYE Logging out
S: e2 OK Logout completed ({*} secs).
@eof
@use bob
C: c2 LOGOUT
S: * BYE Logging out
S: c2 OK Logout completed ({*} secs).
@eof
@use other
C: d3 LOGOUT
S: * BYE Logging out
S: d3 OK Logout completed ({*} secs).
@eof
@use pop3
C: QUIT
S: +OK Logging out.
@eof
