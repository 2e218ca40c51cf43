# CATENATE (RFC 4469) and URL-PARTIAL (RFC 5550): APPEND builds a message from literal TEXT
# parts and IMAP URLs naming messages, sections and byte ranges of the user's mailboxes.
# Checked against Dovecot 2.3.19.1 (t/oracle/imap-transcript-check), except where a comment
# says otherwise.
@connect imap
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a LOGIN alice secret
S: a OK [CAPABILITY {*}] Logged in
C: b CREATE Drafts
S: b OK Create completed ({*} secs).
@send "c APPEND Drafts {135+}\r\nSubject: draft\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\npart one\r\n--b1--\r\n\r\n"
S: c OK [APPENDUID {=UV} 1] Append completed ({*} secs).
@send "d APPEND Drafts {41+}\r\nSubject: attached\r\n\r\nthe second message\r\n\r\n"
S: d OK [APPENDUID {*} 2] Append completed ({*} secs).
# RFC 4469's example: a forward made of the first message's header and part, new text
# between, and the second message whole; literals synchronizing.
C: e APPEND Drafts (\Seen \Draft $MDNSent) CATENATE (URL "/Drafts;UIDVALIDITY={UV}/;UID=1/;section=HEADER" TEXT {8}
S: + OK
@send "\r\n--b2\r\n"
C:  URL "/Drafts;UIDVALIDITY={UV}/;UID=1/;section=1.MIME" URL "/Drafts;UIDVALIDITY={UV}/;UID=1/;section=1" TEXT {8}
S: + OK
@send "\r\n--b2\r\n"
C:  URL "/Drafts;UIDVALIDITY={UV}/;UID=2" TEXT {10}
S: + OK
@send "\r\n--b2--\r\n"
C: )
S: e OK [APPENDUID {*} 3] Append completed ({*} secs).
C: f EXAMINE Drafts
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $MDNSent)
S: * OK [PERMANENTFLAGS ()] Read-only mailbox.
S: * 3 EXISTS
S: * 3 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 4] Predicted next UID
S: f OK [READ-ONLY] Examine completed ({*} secs).
C: g UID FETCH 3 (FLAGS BODY.PEEK[])
S: * 3 FETCH (UID 3 FLAGS (\Seen \Draft \Recent $MDNSent) BODY[] {186}
S: Subject: draft
S: MIME-Version: 1.0
S: Content-Type: multipart/mixed; boundary="b1"
S:
S:
S: --b2
S: Content-Type: text/plain
S:
S: part one
S: --b2
S: Subject: attached
S:
S: the second message
S:
S: --b2--
S: )
S: g OK Fetch completed ({*} secs).
# URL-PARTIAL: byte ranges of a section (offset.length, or from an offset to the end);
# a range past the end adds nothing. Literals non-synchronizing.
@send "h APPEND Drafts CATENATE (URL \"/Drafts/;UID=2/;PARTIAL=0.8\" TEXT {3+}\r\n--- URL \"/Drafts/;UID=2/;SECTION=TEXT/;PARTIAL=4\" URL \"/Drafts/;UID=2/;PARTIAL=9999\")\r\n"
S: * 4 EXISTS
S: * 4 RECENT
S: h OK [APPENDUID {*} 4] Append completed ({*} secs).
C: i UID FETCH 4 BODY.PEEK[]
S: * 4 FETCH (UID 4 BODY[] {27}
S: Subject:---second message
S: )
S: i OK Fetch completed ({*} secs).
# MULTIAPPEND: URL-only, mixed and plain messages in one command.
@send "j APPEND Drafts CATENATE (URL \"/Drafts/;UID=1/;SECTION=1\") (\\Flagged) CATENATE (TEXT {6+}\r\nhello  URL \"/Drafts/;UID=2/;SECTION=HEADER.FIELDS%20(SUBJECT)\") {5+}\r\nplain\r\n"
S: * 7 EXISTS
S: * 7 RECENT
S: j OK [APPENDUID {*} 5:7] Append completed ({*} secs).
C: k UID FETCH 5:7 BODY.PEEK[]
S: * 5 FETCH (UID 5 BODY[] {8}
S: part one)
S: * 6 FETCH (UID 6 BODY[] {27}
S: hello Subject: attached
S:
S: )
S: * 7 FETCH (UID 7 BODY[] {5}
S: plain)
S: k OK Fetch completed ({*} secs).
# Relative to the selected mailbox.
C: l SELECT Drafts
S: * OK [CLOSED] Previous mailbox closed.
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $MDNSent)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $MDNSent \*)] Flags permitted.
S: * 7 EXISTS
S: * 7 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 8] Predicted next UID
S: l OK [READ-WRITE] Select completed ({*} secs).
@send "m APPEND Drafts CATENATE (URL \";UID=7\" URL \";UID=1/;SECTION=1/;PARTIAL=4.4\")\r\n"
S: * 8 EXISTS
S: * 8 RECENT
S: m OK [APPENDUID {*} 8] Append completed ({*} secs).
C: n UID FETCH 8 BODY.PEEK[]
S: * 8 FETCH (UID 8 BODY[] {9}
S: plain one)
S: n OK Fetch completed ({*} secs).
# Parts that add nothing make an empty message, which is saved.
@send "o APPEND Drafts CATENATE (TEXT {0+}\r\n URL \";UID=7/;SECTION=2\")\r\n"
S: * 9 EXISTS
S: * 9 RECENT
S: o OK [APPENDUID {*} 9] Append completed ({*} secs).
C: p UID FETCH 9 RFC822.SIZE
S: * 9 FETCH (UID 9 RFC822.SIZE 0)
S: p OK Fetch completed ({*} secs).
# Bad URLs: [BADURL url] and why; nothing of the command is saved.
@send "q1 APPEND Drafts (\\Seen) CATENATE (TEXT {2+}\r\nab URL \"/Drafts/;UID=99\" TEXT {2+}\r\ncd)\r\n"
S: q1 NO [BADURL /Drafts/;UID=99] Message not found ({*} secs).
@send "q2 APPEND Drafts (\\Seen) CATENATE (TEXT {2+}\r\nab URL \"/Drafts;UIDVALIDITY=1/;UID=1\" TEXT {2+}\r\ncd)\r\n"
S: q2 NO [BADURL /Drafts;UIDVALIDITY=1/;UID=1] Invalid UIDVALIDITY ({*} secs).
@send "q3 APPEND Drafts (\\Seen) CATENATE (TEXT {2+}\r\nab URL \"/Nowhere/;UID=1\" TEXT {2+}\r\ncd)\r\n"
S: q3 NO [BADURL /Nowhere/;UID=1] Mailbox doesn't exist: Nowhere ({*} secs).
@send "q4 APPEND Drafts (\\Seen) CATENATE (TEXT {2+}\r\nab URL \"imap://alice@localhost/Drafts/;UID=1\" TEXT {2+}\r\ncd)\r\n"
S: q4 NO [BADURL imap://alice@localhost/Drafts/;UID=1] Invalid IMAP URL: Relative URL required ({*} secs).
@send "q5 APPEND Drafts (\\Seen) CATENATE (TEXT {2+}\r\nab URL \"imap:/Drafts/;UID=1\" TEXT {2+}\r\ncd)\r\n"
S: q5 NO [BADURL imap:/Drafts/;UID=1] Invalid IMAP URL: Absolute IMAP URL requires `//' after `imap:' ({*} secs).
@send "q6 APPEND Drafts (\\Seen) CATENATE (TEXT {2+}\r\nab URL \"http://example.com/\" TEXT {2+}\r\ncd)\r\n"
S: q6 NO [BADURL http://example.com/] Invalid IMAP URL: Not an IMAP URL ({*} secs).
@send "q7 APPEND Drafts (\\Seen) CATENATE (TEXT {2+}\r\nab URL \";UID=1/;PARTIAL=0.0\" TEXT {2+}\r\ncd)\r\n"
S: q7 NO [BADURL ;UID=1/;PARTIAL=0.0] Invalid IMAP URL: PARTIAL size cannot be zero ({*} secs).
@send "q8 APPEND Drafts (\\Seen) CATENATE (TEXT {2+}\r\nab URL \";UID=1/;PARTIAL=1.\" TEXT {2+}\r\ncd)\r\n"
S: q8 NO [BADURL ;UID=1/;PARTIAL=1.] Invalid IMAP URL: Empty PARTIAL size ({*} secs).
@send "q9 APPEND Drafts (\\Seen) CATENATE (TEXT {2+}\r\nab URL \";UID=0\" TEXT {2+}\r\ncd)\r\n"
S: q9 NO [BADURL ;UID=0] Invalid IMAP URL: UID cannot be zero ({*} secs).
@send "q10 APPEND Drafts (\\Seen) CATENATE (TEXT {2+}\r\nab URL \";UID=1/;FOO=1\" TEXT {2+}\r\ncd)\r\n"
S: q10 NO [BADURL ;UID=1/;FOO=1] Invalid IMAP URL: Unexpected IMAP URL path segment: `;FOO=1' ({*} secs).
@send "q11 APPEND Drafts (\\Seen) CATENATE (TEXT {2+}\r\nab URL \";UID=1;URLAUTH=anonymous\" TEXT {2+}\r\ncd)\r\n"
S: q11 NO [BADURL ;UID=1;URLAUTH=anonymous] Invalid IMAP URL: `;URLAUTH=' is not allowed in this context ({*} secs).
@send "q12 APPEND Drafts (\\Seen) CATENATE (TEXT {2+}\r\nab URL \";UID=1#x\" TEXT {2+}\r\ncd)\r\n"
S: q12 NO [BADURL ;UID=1#x] Invalid IMAP URL: Fragment component not allowed in IMAP URL ({*} secs).
@send "q13 APPEND Drafts (\\Seen) CATENATE (TEXT {2+}\r\nab URL \"/Drafts/%zz/;UID=1\" TEXT {2+}\r\ncd)\r\n"
S: q13 NO [BADURL /Drafts/%zz/;UID=1] Invalid IMAP URL: Expecting hex digit after '%', but found 'z' ({*} secs).
# A synchronizing literal after a bad URL is not asked for: the NO comes instead of + OK,
# and the client sends no data.
C: r APPEND Drafts CATENATE (URL "/Drafts/;UID=99" TEXT {5}
S: r NO [BADURL /Drafts/;UID=99] Message not found ({*} secs).
C: s NOOP
S: s OK NOOP completed ({*} secs).
# The destination must exist; the URL's mailbox only needs to be readable.
@send "t APPEND Nowhere CATENATE (URL \"/Drafts/;UID=1\")\r\n"
S: t NO [TRYCREATE] Mailbox doesn't exist: Nowhere ({*} secs).
C: u UNSELECT
S: u OK Unselect completed ({*} secs).
@send "v APPEND Drafts CATENATE (URL \";UID=1\")\r\n"
S: v NO [BADURL ;UID=1] Mailbox-relative IMAP URL, but no mailbox selected ({*} secs).
@send "w APPEND INBOX CATENATE (URL \"/Drafts/;UID=7\")\r\n"
S: w OK [APPENDUID {*} 1] Append completed ({*} secs).
C: x STATUS Drafts (MESSAGES)
S: * STATUS Drafts (MESSAGES 9)
S: x OK Status completed ({*} secs).
# literal8 (RFC 3516): binary conversion applies when the first part is a literal8; a
# literal8 after another first part is refused.
@send "z1 APPEND INBOX CATENATE (TEXT ~{5+}\r\nhello URL \"/Drafts/;UID=7\")\r\n"
S: z1 OK [APPENDUID {*} 2] Append completed ({*} secs).
@send "z2 APPEND INBOX CATENATE (URL \"/Drafts/;UID=7\" TEXT ~{5+}\r\nhello)\r\n"
S: z2 NO [UNKNOWN-CTE] Binary input allowed only when the first part is binary ({*} secs).
C: z3 EXAMINE INBOX
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS ()] Read-only mailbox.
S: * 2 EXISTS
S: * 2 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 3] Predicted next UID
S: z3 OK [READ-ONLY] Examine completed ({*} secs).
C: z4 UID FETCH 2 BODY.PEEK[]
S: * 2 FETCH (UID 2 BODY[] {10}
S: helloplain)
S: z4 OK Fetch completed ({*} secs).
C: y LOGOUT
S: * BYE Logging out
S: y OK Logout completed ({*} secs).
@eof
