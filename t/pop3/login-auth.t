# AUTH: the mechanism list, PLAIN with and without an initial response, LOGIN's two rounds,
# abort, bad base64, unknown mechanisms. Texts as Dovecot 2.3.19.1 (Debian) answers them.
@config protocols = imap pop3
@config mail_location = maildir:{root}/mail/%u
@connect pop3
S: +OK Dovecot (Debian) ready.
C: AUTH
S: +OK
S: PLAIN
S: LOGIN
S: CRAM-MD5
S: SCRAM-SHA-1
S: SCRAM-SHA-256
S: .
C: AUTH PLAIN
S: + 
C: *
S: -ERR Authentication aborted by client.
C: AUTH PLAIN
S: + 
C: !!!
S: -ERR [AUTH] Invalid base64 in response
C: AUTH PLAIN !!!
S: -ERR [AUTH] Invalid base64 data in initial response
C: AUTH FOO
S: -ERR [AUTH] Unsupported authentication mechanism.
C: AUTH PLAIN =
S: -ERR [AUTH] Authentication failed.
C: AUTH LOGIN
S: + VXNlcm5hbWU6
C: YWxpY2U=
S: + UGFzc3dvcmQ6
C: c2VjcmV0
S: +OK Logged in.
C: QUIT
S: +OK Logging out.
@eof

# An initial response, mechanism name in any case.
@connect pop3 ir
S: +OK Dovecot (Debian) ready.
C: AUTH plain AGJvYgBodW50ZXIy
S: +OK Logged in.
C: NOOP
S: +OK
C: QUIT
S: +OK Logging out.
@eof

# The response on its own line.
@connect pop3 noir
S: +OK Dovecot (Debian) ready.
C: AUTH PLAIN
S: + 
C: AGFsaWNlAHNlY3JldA==
S: +OK Logged in.
C: QUIT
S: +OK Logging out.
@eof
