# quota_max_mail_size (the quota plugin's limit; quotas themselves: quota.t): APPEND refuses
# a larger message before reading it. With a synchronizing literal the
# client gets NO instead of "+ OK"; with LITERAL+ the announced bytes are read and dropped,
# and the session goes on. Checked against Dovecot 2.3.19.1, except for APPENDLIMIT
# (RFC 7889), which cote advertises with the limit and its [TOOBIG] answer as Dovecot 2.4
# does (2.3 advertised no limit and answered [LIMIT]).
@config mail_plugins = quota
@config plugin {
@config   quota = maildir:User quota
@config   quota_max_mail_size = 1k
@config }
@connect imap
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a LOGIN alice secret
S: a OK [CAPABILITY {*} LITERAL+ NOTIFY APPENDLIMIT=1024] Logged in
C: b APPEND INBOX {104857600}
S: b NO [TOOBIG] Mail size is larger than the maximum size allowed by server configuration ({*} secs).
C: c NOOP
S: c OK NOOP completed ({*} secs).
C: d APPEND INBOX (\Seen) {2000+}
S: d NO [TOOBIG] Mail size is larger than the maximum size allowed by server configuration ({*} secs).
@repeat 2000 "x"
C:
# Known difference: Dovecot then skips one more line (its APPEND sets "skip the trailing
# CRLF" after the command's CRLF was already read), so this NOOP would get no answer there;
# cote does not drop a pipelined command.
C: e NOOP
S: e OK NOOP completed ({*} secs).
@send "f APPEND INBOX {20+}\r\nSubject: small\r\n\r\nok\r\n"
S: f OK [APPENDUID {*} 1] Append completed ({*} secs).
# CATENATE: the limit applies to the message being composed, checked before each TEXT literal
# is read and after each URL part (cote's own rule, since Dovecot 2.3 has no APPENDLIMIT).
C: g1 APPEND INBOX CATENATE (TEXT {600}
S: + OK
@repeat 600 "x"
C:  TEXT {600}
S: g1 NO [TOOBIG] Mail size is larger than the maximum size allowed by server configuration ({*} secs).
C: g2 NOOP
S: g2 OK NOOP completed ({*} secs).
@send "g3 APPEND INBOX CATENATE (TEXT {1010+}\r\n"
@repeat 1010 "x"
@send " URL \"/INBOX/;UID=1\")\r\n"
S: g3 NO [TOOBIG] Mail size is larger than the maximum size allowed by server configuration ({*} secs).
@send "g4 APPEND INBOX CATENATE (TEXT {1000+}\r\n"
@repeat 1000 "x"
@send " URL \"/INBOX/;UID=1\")\r\n"
S: g4 OK [APPENDUID {*} 2] Append completed ({*} secs).
C: g5 STATUS INBOX (MESSAGES)
S: * STATUS INBOX (MESSAGES 2)
S: g5 OK Status completed ({*} secs).
C: g LOGOUT
S: * BYE Logging out
S: g OK Logout completed ({*} secs).
@eof
