# Input that stops in the middle: a literal announced and never sent, a LITERAL+ message cut
# off, a command line without its end. The server keeps nothing half-received, and the next
# session finds the mailbox as it was. Checked against Dovecot 2.3.19.1.
@connect imap one
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a LOGIN alice secret
S: a OK [CAPABILITY {*}] Logged in
C: b APPEND INBOX {10}
S: + OK
@close

@connect imap two
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a LOGIN alice secret
S: a OK [CAPABILITY {*}] Logged in
@send "b APPEND INBOX {100+}\r\nSubject: cut off\r\n\r\nonly part"
@close

@connect imap three
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a LOGIN alice secret
S: a OK [CAPABILITY {*}] Logged in
@send "b SELECT INB"
@close

@connect imap four
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a LOGIN alice secret
S: a OK [CAPABILITY {*}] Logged in
C: b STATUS INBOX (MESSAGES UIDNEXT)
S: * STATUS INBOX (MESSAGES 0 UIDNEXT 1)
S: b OK Status completed ({*} secs).
C: c SELECT INBOX
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 0 EXISTS
S: * 0 RECENT
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 1] Predicted next UID
S: c OK [READ-WRITE] Select completed ({*} secs).
C: d FETCH 1:4294967295 FLAGS
S: d BAD Error in IMAP command FETCH: Invalid messageset ({*} secs).
C: e UID FETCH 1:4294967295 FLAGS
S: e OK Fetch completed ({*} secs).
C: f UID STORE 1:* +FLAGS (\Seen)
S: f OK Store completed ({*} secs).
C: g SEARCH UID 4294967296
S: g BAD Error in IMAP command SEARCH: Invalid UID messageset ({*} secs).
C: h LOGOUT
S: * BYE Logging out
S: h OK Logout completed ({*} secs).
@eof
