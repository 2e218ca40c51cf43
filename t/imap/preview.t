# PREVIEW=FUZZY, PREVIEW (RFC 8970) and SNIPPET=FUZZY as Dovecot 2.3 answers them: the text
# of the first text part (text/plain before text/html in an alternative), HTML turned into text,
# whitespace runs as one space, quoted lines only when there is nothing else, at most 200
# characters; "" without a text part. PREVIEW (LAZY) answers NIL until the preview was made,
# then the cached one (also for another session); SNIPPET (FUZZY) and PREVIEW (FUZZY) are the
# pre-RFC forms. The RFC's example (section 4) first.
# Checked against Dovecot 2.3.19.1 with t/oracle/imap-transcript-check.
@connect imap one
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a1 LOGIN alice secret
S: a1 OK [CAPABILITY {*}] Logged in
C: a2 CREATE Pv
S: a2 OK Create completed ({*} secs).
@send "a3 APPEND Pv {80+}\r\nFrom: a@example.com\r\nSubject: plain\r\n\r\nHello   there,\r\n\r\nthis is  the	preview.\r\n\r\n"
S: a3 OK [APPENDUID {*} 1] Append completed ({*} secs).
@send "a4 APPEND Pv {220+}\r\nFrom: a@example.com\r\nSubject: html\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><head><style>p {color: red}</style></head><body><p>Caf&eacute; &amp; <b>cr\xc3\xa8me</b></p><!-- hidden --></body></html>\r\n\r\n"
S: a4 OK [APPENDUID {*} 2] Append completed ({*} secs).
@send "a5 APPEND Pv {299+}\r\nFrom: a@example.com\r\nSubject: alternative\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>the html part</p>\r\n--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nthe plain part, =E9t=E9\r\n--b--\r\n\r\n"
S: a5 OK [APPENDUID {*} 3] Append completed ({*} secs).
@send "a6 APPEND Pv {76+}\r\nFrom: a@example.com\r\nSubject: quoted\r\n\r\n> only a quoted line\r\n>and another\r\n\r\n"
S: a6 OK [APPENDUID {*} 4] Append completed ({*} secs).
@send "a7 APPEND Pv {370+}\r\nFrom: a@example.com\r\nSubject: long\r\n\r\n0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 \r\n\r\n"
S: a7 OK [APPENDUID {*} 5] Append completed ({*} secs).
@send "a8 APPEND Pv {132+}\r\nFrom: a@example.com\r\nSubject: image\r\nMIME-Version: 1.0\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n\r\n"
S: a8 OK [APPENDUID {*} 6] Append completed ({*} secs).
C: a10 SELECT Pv
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 6 EXISTS
S: * 6 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 7] Predicted next UID
S: a10 OK [READ-WRITE] Select completed ({*} secs).
# RFC 8970 section 4: LAZY gives NIL while no preview is at hand.
C: p1 FETCH 1 (PREVIEW (LAZY))
S: * 1 FETCH (PREVIEW NIL)
S: p1 OK Fetch completed ({*} secs).
C: p2 FETCH 1 (PREVIEW)
S: * 1 FETCH (PREVIEW "Hello there, this is the preview.")
S: p2 OK Fetch completed ({*} secs).
C: p3 FETCH 1 (PREVIEW (LAZY))
S: * 1 FETCH (PREVIEW "Hello there, this is the preview.")
S: p3 OK Fetch completed ({*} secs).
C: p4 FETCH 2:6 (UID PREVIEW)
S: * 2 FETCH (UID 2 PREVIEW {14}
S: Café & crème)
S: * 3 FETCH (UID 3 PREVIEW {21}
S: the plain part, été)
S: * 4 FETCH (UID 4 PREVIEW ">only a quoted line and another")
S: * 5 FETCH (UID 5 PREVIEW "0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 01")
S: * 6 FETCH (UID 6 PREVIEW "")
S: p4 OK Fetch completed ({*} secs).
# The pre-RFC forms; PREVIEW comes before the body sections, whatever the order asked.
C: p5 FETCH 1 (SNIPPET (FUZZY) PREVIEW (FUZZY) PREVIEW (LAZY=FUZZY))
S: * 1 FETCH (SNIPPET (FUZZY "Hello there, this is the preview.") PREVIEW (FUZZY "Hello there, this is the preview.") PREVIEW (FUZZY "Hello there, this is the preview."))
S: p5 OK Fetch completed ({*} secs).
C: p6 FETCH 4 (BODY.PEEK[HEADER.FIELDS (SUBJECT)] PREVIEW)
S: * 4 FETCH (PREVIEW ">only a quoted line and another" BODY[HEADER.FIELDS (SUBJECT)] {19}
S: Subject: quoted
S: 
S: )
S: p6 OK Fetch completed ({*} secs).
C: p7 FETCH 1 (PREVIEW (BOGUS))
S: p7 BAD Error in IMAP command FETCH: 'BOGUS' is not a supported PREVIEW modifier ({*} secs).
C: p8 FETCH 1 (PREVIEW ("LAZY"))
S: p8 BAD Error in IMAP command FETCH: Invalid PREVIEW modifier ({*} secs).
# Another session finds the cached previews.
@connect imap two
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: b1 LOGIN alice secret
S: b1 OK [CAPABILITY {*}] Logged in
C: b2 EXAMINE Pv
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS ()] Read-only mailbox.
S: * 6 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 7] Predicted next UID
S: b2 OK [READ-ONLY] Examine completed ({*} secs).
C: b3 FETCH 1:6 (PREVIEW (LAZY))
S: * 1 FETCH (PREVIEW "Hello there, this is the preview.")
S: * 2 FETCH (PREVIEW {14}
S: Café & crème)
S: * 3 FETCH (PREVIEW {21}
S: the plain part, été)
S: * 4 FETCH (PREVIEW ">only a quoted line and another")
S: * 5 FETCH (PREVIEW "0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 01")
S: * 6 FETCH (PREVIEW "")
S: b3 OK Fetch completed ({*} secs).
C: b4 LOGOUT
S: * BYE Logging out
S: b4 OK Logout completed ({*} secs).
@use one
C: z LOGOUT
S: * BYE Logging out
S: z OK Logout completed ({*} secs).
