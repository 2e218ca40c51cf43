# IMAP4rev2 with NOTIFY (RFC 5465): the selected mailbox's new messages and flag changes
# arrive between commands without RECENT and without \Recent, each FETCH with the UID (RFC
# 9051 Appendix E item 21), also when MessageNew's fetch-att list does not ask for it.
# Written by hand: Dovecot 2.3 has no IMAP4rev2 (notify.t is the same flow in IMAP4rev1).
@connect imap a
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a1 LOGIN alice secret
S: a1 OK [CAPABILITY {*}] Logged in
C: a2 ENABLE IMAP4rev2
S: * ENABLED IMAP4rev2
S: a2 OK Enabled ({*} secs).
C: a3 CREATE Rev2Notify
S: a3 OK Create completed ({*} secs).
C: a4 SELECT Rev2Notify
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 0 EXISTS
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 1] Predicted next UID
S: * LIST (\HasNoChildren) "." Rev2Notify
S: a4 OK [READ-WRITE] Select completed ({*} secs).
C: a5 NOTIFY SET (selected (MessageNew (FLAGS) MessageExpunge FlagChange))
S: a5 OK NOTIFY completed ({*} secs).
# The selected mailbox is watched from a second after the last command.
@sleep 1500
@connect imap b
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: b1 LOGIN alice secret
S: b1 OK [CAPABILITY {*}] Logged in
C: b2 APPEND Rev2Notify {3+}
C: abc
S: b2 OK [APPENDUID {*} 1] Append completed ({*} secs).
@use a
S: * 1 EXISTS
S: * 1 FETCH (UID 1 FLAGS ())
@use b
C: b3 SELECT Rev2Notify
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 1 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 2] Predicted next UID
S: b3 OK [READ-WRITE] Select completed ({*} secs).
@sleep 1500
C: b4 STORE 1 +FLAGS (\Seen)
S: * 1 FETCH (FLAGS (\Seen))
S: b4 OK Store completed ({*} secs).
@use a
S: * 1 FETCH (UID 1 FLAGS (\Seen))
C: a6 LOGOUT
S: * BYE Logging out
S: a6 OK Logout completed ({*} secs).
@eof
@use b
C: b5 LOGOUT
S: * BYE Logging out
S: b5 OK Logout completed ({*} secs).
@eof
