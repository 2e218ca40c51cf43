# AUTHENTICATE: with and without SASL-IR, LOGIN's two rounds, abort, bad base64, unknown
# mechanisms. Texts as Dovecot 2.3.19.1 (Debian) answers them.
@connect imap
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
# No initial response: an empty challenge ("+ " and nothing), then the client's answer.
C: a1 AUTHENTICATE PLAIN
S: + 
C: *
S: a1 BAD Authentication aborted by client.
C: a2 AUTHENTICATE PLAIN
S: + 
C: !!!
S: a2 NO [ALERT] Invalid base64 in response
C: a3 AUTHENTICATE PLAIN !!!
S: a3 BAD Invalid base64 data in initial response
C: a5 AUTHENTICATE FOO
S: a5 NO [ALERT] Unsupported authentication mechanism.
C: a6 AUTHENTICATE EXTERNAL
S: a6 NO [ALERT] Unsupported authentication mechanism.
# "=" is an empty initial response (a failure: no user in it).
C: a7 AUTHENTICATE PLAIN =
S: a7 NO [AUTHENTICATIONFAILED] Authentication failed.
C: a8 AUTHENTICATE LOGIN
S: + VXNlcm5hbWU6
C: YWxpY2U=
S: + UGFzc3dvcmQ6
C: c2VjcmV0
S: a8 OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY] Logged in
C: a9 LOGOUT
S: * BYE Logging out
S: a9 OK Logout completed ({*} secs).
@eof

# SASL-IR, mechanism name in any case; whitespace inside base64 is skipped (Dovecot's
# decoder), so an extra space before the response is harmless.
@connect imap ir
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: b1 AUTHENTICATE plain  AGJvYgBodW50ZXIy
S: b1 OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY] Logged in
C: b2 LOGOUT
S: * BYE Logging out
S: b2 OK Logout completed ({*} secs).
@eof

# Without SASL-IR: the response on its own line.
@connect imap noir
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: c1 AUTHENTICATE PLAIN
S: + 
C: AGFsaWNlAHNlY3JldA==
S: c1 OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY] Logged in
C: c2 LOGOUT
S: * BYE Logging out
S: c2 OK Logout completed ({*} secs).
@eof

# An empty mechanism name is an invalid command.
@connect imap empty
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: d1 AUTHENTICATE
S: d1 BAD Error in IMAP command received by server.
C: d2 LOGOUT
S: * BYE Logging out
S: d2 OK Logout completed.
@eof
