# COMPRESS=DEFLATE (RFC 4978), switched on by Dovecot's imap_zlib plugin: advertised after
# login, raw deflate both ways after the tagged OK, NO [COMPRESSIONACTIVE] a second time.
# As in the RFC's example the session runs inside TLS (the login process relays TLS; the
# compression happens in the mail process, inside it). IDLE's updates arrive at once: every
# answer ends with a sync flush. Answers checked against Dovecot 2.3.19.1.
@config protocol imap {
@config   mail_plugins = $mail_plugins imap_zlib
@config }
@connect imap
S: * OK [CAPABILITY {*} STARTTLS {*}] Dovecot (Debian) ready.
C: a STARTTLS
S: a OK Begin TLS negotiation now.
@starttls
C: b LOGIN alice secret
S: b OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY COMPRESS=DEFLATE] Logged in
C: c COMPRESS
S: c BAD Error in IMAP command COMPRESS: Invalid arguments ({*} secs).
C: d COMPRESS "deflate"
S: d BAD Error in IMAP command COMPRESS: Invalid arguments ({*} secs).
C: e COMPRESS DEFLATE extra
S: e BAD Error in IMAP command COMPRESS: Invalid arguments ({*} secs).
C: f COMPRESS FOO
S: f NO Unknown compression mechanism ({*} secs).
C: g COMPRESS deflate
S: g OK Begin compression ({*} secs).
@compress
C: h COMPRESS DEFLATE
S: h NO [COMPRESSIONACTIVE] COMPRESSION=DEFLATE already enabled ({*} secs).
C: i SELECT INBOX
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 0 EXISTS
S: * 0 RECENT
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 1] Predicted next UID
S: i OK [READ-WRITE] Select completed ({*} secs).
C: j APPEND INBOX {42}
S: + OK
@send "Subject: compressed\r\n\r\nsqueezed and back\r\n"
C:
S: * 1 EXISTS
S: * 1 RECENT
S: j OK [APPENDUID {*} 1] Append completed ({*} secs).
C: k IDLE
S: + idling

# Another session's APPEND reaches the compressed IDLE without the client sending anything.
@connect imap other
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: o1 LOGIN alice secret
S: o1 OK [CAPABILITY {*} COMPRESS=DEFLATE] Logged in
C: o2 APPEND INBOX {20+}
@send "Subject: second\r\n\r\n2"
C:
S: o2 OK [APPENDUID {*} 2] Append completed ({*} secs).
C: o3 LOGOUT
S: * BYE Logging out
S: o3 OK Logout completed ({*} secs).
@eof

@use imap
S: * 2 EXISTS
S: * 2 RECENT
C: DONE
S: k OK Idle completed ({*} secs).
C: l FETCH 1:2 (BODY.PEEK[] FLAGS)
S: * 1 FETCH (FLAGS (\Recent) BODY[] {42}
S: Subject: compressed
S: 
S: squeezed and back
S: )
S: * 2 FETCH (FLAGS (\Recent) BODY[] {20}
S: Subject: second
S: 
S: 2)
S: l OK Fetch completed ({*} secs).
C: m LOGOUT
S: * BYE Logging out
S: m OK Logout completed ({*} secs).
@eof
