# A wrong password and an unknown user get the same answer, after auth_failure_delay
# (1 second in the transcripts' configuration). LOGIN with the wrong arguments is an invalid
# command.
@connect imap
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a1 LOGIN alice wrong
S: a1 NO [AUTHENTICATIONFAILED] Authentication failed.
C: a2 LOGIN nosuchuser wrong
S: a2 NO [AUTHENTICATIONFAILED] Authentication failed.
C: a3 AUTHENTICATE PLAIN AGFsaWNlAHdyb25n
S: a3 NO [AUTHENTICATIONFAILED] Authentication failed.
C: a4 LOGIN alice
S: a4 BAD Error in IMAP command received by server.
C: a5 LOGOUT
S: * BYE Logging out
S: a5 OK Logout completed.
@eof
