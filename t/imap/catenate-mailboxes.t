# CATENATE URLs and mailbox names: the URL names mailboxes as IMAP does (the namespace's
# separator, any case of INBOX, %-encoded bytes); a relative name is taken under the selected
# mailbox as if it ended in '/' (so under Maildir++'s '.' separator it is refused), and a
# sibling reached by '..' keeps the selected mailbox's UIDVALIDITY (Dovecot's resolution).
# Checked against Dovecot 2.3.19.1 except the last case, see there.
@connect imap
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a LOGIN alice secret
S: a OK [CAPABILITY {*}] Logged in
@send "b APPEND INBOX {5+}\r\nhello\r\n"
S: b OK [APPENDUID {*} 1] Append completed ({*} secs).
C: c CREATE INBOX.Sub
S: c OK Create completed ({*} secs).
@send "d APPEND INBOX.Sub {5+}\r\nworld\r\n"
S: d OK [APPENDUID {*} 1] Append completed ({*} secs).
C: d2 STATUS INBOX/INBOX (MESSAGES)
S: d2 NO [CANNOT] Invalid mailbox name: Name must not have '/' characters ({*} secs).
C: e SELECT INBOX
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 1 EXISTS
S: * 1 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 2] Predicted next UID
S: e OK [READ-WRITE] Select completed ({*} secs).
C: f APPEND INBOX CATENATE (URL "INBOX/;UID=1")
S: f NO [BADURL INBOX/;UID=1] Invalid mailbox name: Name must not have '/' characters ({*} secs).
C: g APPEND INBOX CATENATE (URL "../INBOX.Sub/;UID=1")
S: g NO [BADURL ../INBOX.Sub/;UID=1] Invalid UIDVALIDITY ({*} secs).
C: h APPEND INBOX CATENATE (URL "/INBOX.Nope/;UID=1")
S: h NO [BADURL /INBOX.Nope/;UID=1] Mailbox doesn't exist: INBOX.Nope ({*} secs).
C: i APPEND INBOX CATENATE (URL "/INBOX.Sub/;UID=1" URL "/inbox/;UID=1")
S: * 2 EXISTS
S: * 2 RECENT
S: i OK [APPENDUID {*} 2] Append completed ({*} secs).
C: j APPEND INBOX CATENATE (URL "Sub/;UID=1")
S: j NO [BADURL Sub/;UID=1] Invalid mailbox name: Name must not have '/' characters ({*} secs).
C: k APPEND INBOX CATENATE (URL "/%49NBOX/;UID=1/;SECTION=1.2.HEADER")
S: * 3 EXISTS
S: * 3 RECENT
S: k OK [APPENDUID {*} 3] Append completed ({*} secs).
# Deliberate difference: Dovecot answers an invalid section with the storage's last error
# (here a stale "[CANNOT] Invalid mailbox name: ..."), cote with what is wrong.
C: l APPEND INBOX CATENATE (URL "/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20(")
S: l NO [BADURL /INBOX/;UID=1/;SECTION=HEADER.FIELDS%20(] Invalid section ({*} secs).
C: m LOGOUT
S: * BYE Logging out
S: m OK Logout completed ({*} secs).
@eof
