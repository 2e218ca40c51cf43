# BINARY (RFC 3516): FETCH BINARY[section]<partial>, BINARY.PEEK, BINARY.SIZE with the
# content-transfer-decoding of quoted-printable and base64 parts, literal8 (~{n}) for decoded
# data (NULs stay NULs there, while BODY[] shows them as 0x80), NO [UNKNOWN-CTE] for an
# encoding that cannot be decoded (after closing the response line with the UID, as Dovecot),
# APPEND with a literal8 (a binary part is stored as base64). The message follows the
# RFC's example. Every answer below is Dovecot 2.3.19.1's, recorded.
@connect imap
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a LOGIN alice secret
S: a OK [CAPABILITY {*} BINARY {*}] Logged in
C: c CREATE bintest
S: c OK Create completed ({*} secs).
@send "d APPEND bintest {581+}\r\nFrom: Fred Foobar <foobar@Blurdybloop.example>\r\nSubject: afternoon meeting\r\nTo: mooch@owatagu.siam.edu.example\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"--boundary\"\r\n\r\n----boundary\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHello Joe, do you think we can meet at 3:30 tomorrow? caf=C3=A9\r\n----boundary\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgcICQ==\r\n----boundary\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n`\r\nend\r\n----boundary--\r\n\r\n"
S: d OK [APPENDUID {*} 1] Append completed ({*} secs).
C: e SELECT bintest
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 1 EXISTS
S: * 1 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 2] Predicted next UID
S: e OK [READ-WRITE] Select completed ({*} secs).
C: f FETCH 1 (BINARY.SIZE[1] BINARY.SIZE[2])
S: * 1 FETCH (UID 1)
S: f NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding ({*} secs).
C: g FETCH 1 (BINARY.PEEK[1])
S: * 1 FETCH (BINARY[1] ~{59}
S: Hello Joe, do you think we can meet at 3:30 tomorrow? café)
S: g OK Fetch completed ({*} secs).
C: h FETCH 1 (BINARY.PEEK[2])
S: * 1 FETCH (BINARY[2] ~{10}
S: \x00\x01\x02\x03\x04\x05\x06\x07\x08\x09)
S: h OK Fetch completed ({*} secs).
C: i FETCH 1 (BINARY.PEEK[2]<2.4>)
S: * 1 FETCH (BINARY[2]<2> ~{4}
S: \x02\x03\x04\x05)
S: i OK Fetch completed ({*} secs).
C: j FETCH 1 (BINARY.PEEK[3])
S: * 1 FETCH (UID 1)
S: j NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding ({*} secs).
C: k FETCH 1 (BINARY.SIZE[3])
S: * 1 FETCH (UID 1)
S: k NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding ({*} secs).
C: l FETCH 1 (FLAGS)
S: * 1 FETCH (FLAGS (\Recent))
S: l OK Fetch completed ({*} secs).
C: m FETCH 1 (BINARY[1])
S: * 1 FETCH (FLAGS (\Seen \Recent) BINARY[1] ~{59}
S: Hello Joe, do you think we can meet at 3:30 tomorrow? café)
S: m OK Fetch completed ({*} secs).
C: n FETCH 1 (BINARY[1.MIME])
S: * 1 FETCH (BINARY[1.MIME] {88}
S: Content-Type: text/plain; charset=utf-8
S: Content-Transfer-Encoding: quoted-printable
S: 
S: )
S: n OK Fetch completed ({*} secs).
C: o FETCH 1 (BINARY[TEXT])
S: * 1 FETCH (UID 1)
S: o NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding ({*} secs).
@send "p APPEND bintest ~{20+}\r\nSubject: x\r\n\r\na\0b\r\n\r\n"
S: * 2 EXISTS
S: * 2 RECENT
S: p OK [APPENDUID {*} 2] Append completed ({*} secs).
C: q FETCH 2 (BODY.PEEK[] BINARY.PEEK[1] BINARY.SIZE[1])
S: * 2 FETCH (BODY[] {19}
S: Subject: x
S: 
S: a\x80b
S:  BINARY[1] ~{5}
S: a\x00b
S:  BINARY.SIZE[1] 5)
S: q OK Fetch completed ({*} secs).
@send "r APPEND bintest (\\Seen) ~{54+}\r\nSubject: y\r\nContent-Transfer-Encoding: binary\r\n\r\n\0\x01\x02\r\n\r\n"
S: * 3 EXISTS
S: * 3 RECENT
S: r OK [APPENDUID {*} 3] Append completed ({*} secs).
C: s FETCH 3 (BODY.PEEK[] BINARY.PEEK[1] BINARY.SIZE[1])
S: * 3 FETCH (BODY[] {57}
S: Subject: y
S: Content-Transfer-Encoding: base64
S: 
S: AAECDQo= BINARY[1] ~{5}
S: \x00\x01\x02
S:  BINARY.SIZE[1] 5)
S: s OK Fetch completed ({*} secs).
C: t DELETE bintest
S: t OK Delete completed ({*} secs).
S: * BYE Selected mailbox was deleted, have to disconnect.
@eof
