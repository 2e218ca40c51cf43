# NOTIFY (RFC 5465) as Dovecot 2.3.19.1 answers the same conversation (checked with the
# oracle, same configuration, t/oracle/imap-transcript-check): one session changes
# mailboxes, the other hears of it — LIST for created, renamed (OLDNAME), deleted
# (\NonExistent) and (un)subscribed mailboxes, STATUS for new messages elsewhere, the
# selected mailbox's updates as SELECTED / SELECTED-DELAYED / NONE ask, MessageNew's
# fetch-att list, NOTIFY SET STATUS, [BADEVENT] and Dovecot's argument errors.
@config mail_location = maildir:{root}/mail/%u
@config namespace inbox {
@config   inbox = yes
@config   separator = /
@config }
@connect imap a
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a LOGIN alice secret
S: a OK [CAPABILITY {*} LITERAL+ NOTIFY] Logged in
@connect imap b
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: b LOGIN alice secret
S: b OK [CAPABILITY {*}] Logged in
C: b1 STATUS INBOX (MESSAGES)
S: * STATUS INBOX (MESSAGES 0)
S: b1 OK Status completed{*}
@use a
C: a0 STATUS INBOX (MESSAGES)
S: * STATUS INBOX (MESSAGES 0)
S: a0 OK Status completed{*}
# Errors, as Dovecot words them.
C: e1 NOTIFY SET (personal (AnnotationChange ServerMetadataChange MessageNew))
S: e1 NO [BADEVENT AnnotationChange ServerMetadataChange] Unsupported NOTIFY events{*}
C: e2 NOTIFY SET (selected (MessageNew))
S: e2 BAD Error in IMAP command NOTIFY: MessageNew and MessageExpunge must be together{*}
C: e3 NOTIFY SET (selected (FlagChange))
S: e3 BAD Error in IMAP command NOTIFY: FlagChange requires MessageNew and MessageExpunge{*}
C: e4 NOTIFY FOO
S: e4 BAD Error in IMAP command NOTIFY: Invalid arguments{*}
C: e5 NOTIFY SET (selected NONE) (selected-delayed NONE)
S: e5 BAD Error in IMAP command NOTIFY: Duplicate selected filter{*}
C: e6 NOTIFY SET (personal (Bogus))
S: e6 BAD Error in IMAP command NOTIFY: Invalid arguments{*}
# Mailbox names and subscriptions.
C: c NOTIFY SET (personal (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))
S: c OK NOTIFY completed{*}
@use b
C: b2 CREATE foo
S: b2 OK Create completed{*}
@use a
S: * LIST () "/" foo
@use b
C: b3 CREATE bar/baz
S: b3 OK Create completed{*}
@use a
S: * LIST () "/" bar
S: * LIST () "/" bar/baz
@use b
C: b4 SUBSCRIBE foo
S: b4 OK Subscribe completed{*}
@use a
S: * LIST (\Subscribed) "/" foo
@use b
C: b5 APPEND foo {3+}
C: abc
S: b5 OK [APPENDUID {*} 1] Append completed{*}
@use a
S: * STATUS foo (MESSAGES 1 UIDNEXT 2 UIDVALIDITY {*} UNSEEN 1)
@use b
C: b6 RENAME foo foo2
S: b6 OK Rename completed{*}
@use a
S: * LIST () "/" foo2 ("OLDNAME" (foo))
@use b
C: b7 DELETE bar/baz
S: b7 OK Delete completed{*}
@use a
S: * LIST (\NonExistent) "/" bar
S: * LIST (\NonExistent) "/" bar/baz
# The session's own changes are reported too, after its tagged answer.
C: a1 CREATE own
S: a1 OK Create completed{*}
S: * LIST () "/" own
# STATUS: each mailbox's state first.
C: s NOTIFY SET STATUS (mailboxes foo2 (MessageNew MessageExpunge))
S: * STATUS foo2 (MESSAGES 1 UIDNEXT 2 UIDVALIDITY {*} UNSEEN 1)
S: s OK NOTIFY completed{*}
# The selected mailbox: new messages with MessageNew's fetch-att list, others' flag changes,
# and the other mailboxes' STATUS (MessageNew alone: no UIDVALIDITY).
C: s1 SELECT INBOX
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 0 EXISTS
S: * 0 RECENT
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 1] Predicted next UID
S: s1 OK [READ-WRITE] Select completed{*}
C: n1 NOTIFY SET (selected (MessageNew (UID FLAGS) MessageExpunge FlagChange)) (subtree foo2 (MessageNew))
S: n1 OK NOTIFY completed{*}
# Dovecot watches the selected mailbox from a second after the last command.
@sleep 1500
@use b
C: b8 APPEND INBOX {3+}
C: abc
S: b8 OK [APPENDUID {*} 1] Append completed{*}
@use a
S: * 1 EXISTS
S: * 1 RECENT
S: * 1 FETCH (UID 1 FLAGS (\Recent))
@use b
C: b9 SELECT INBOX
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 1 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 2] Predicted next UID
S: b9 OK [READ-WRITE] Select completed{*}
# (Dovecot watches again a second after it sent the last notification.)
@sleep 1500
C: b10 STORE 1 +FLAGS (\Seen)
S: * 1 FETCH (FLAGS (\Seen))
S: b10 OK Store completed{*}
@use a
S: * 1 FETCH (FLAGS (\Seen \Recent))
@use b
C: b11 APPEND foo2 {3+}
C: abc
S: b11 OK [APPENDUID {*} 2] Append completed{*}
@use a
S: * STATUS foo2 (MESSAGES 2 UIDNEXT 3 UNSEEN 2)
# NOTIFY NONE: nothing about the selected mailbox either, though its numbering moves on.
C: n2 NOTIFY NONE
S: n2 OK NOTIFY completed{*}
@use b
C: b12 APPEND INBOX {3+}
C: abc
S: * 2 EXISTS
S: * 1 RECENT
S: b12 OK [APPENDUID {*} 2] Append completed{*}
@use a
@sleep 1500
C: x1 NOOP
S: x1 OK NOOP completed{*}
C: f1 FETCH 1:* UID
S: * 1 FETCH (UID 1)
S: * 2 FETCH (UID 2)
S: f1 OK Fetch completed{*}
# SELECTED-DELAYED: new messages at once, expunges at the next command that allows them.
C: n3 NOTIFY SET (selected-delayed (MessageNew MessageExpunge))
S: n3 OK NOTIFY completed{*}
@sleep 1500
@use b
C: b13 STORE 1 +FLAGS (\Deleted)
S: * 1 FETCH (FLAGS (\Deleted \Seen))
S: b13 OK Store completed{*}
C: b14 EXPUNGE
S: * 1 EXPUNGE
S: b14 OK Expunge completed{*}
C: b15 APPEND INBOX {3+}
C: abc
S: * 2 EXISTS
S: * 2 RECENT
S: b15 OK [APPENDUID {*} 3] Append completed{*}
@use a
S: * 3 EXISTS
@sleep 1500
C: x2 NOOP
S: * 1 EXPUNGE
S: * 0 RECENT
S: x2 OK NOOP completed{*}
# INBOX in any case names INBOX.
C: u1 UNSELECT
S: u1 OK Unselect completed{*}
C: n4 NOTIFY SET STATUS (mailboxes inbox (MessageNew MessageExpunge))
S: * STATUS INBOX (MESSAGES 2 UIDNEXT 4 UIDVALIDITY {*} UNSEEN 2)
S: n4 OK NOTIFY completed{*}
@use b
C: b16 APPEND INBOX {3+}
C: abc
S: * 3 EXISTS
S: * 3 RECENT
S: b16 OK [APPENDUID {*} 4] Append completed{*}
@use a
S: * STATUS INBOX (MESSAGES 3 UIDNEXT 5 UNSEEN 3)
C: z LOGOUT
S: * BYE Logging out
S: z OK Logout completed{*}
@eof
@use b
C: z LOGOUT
S: * BYE Logging out
S: z OK Logout completed{*}
@eof
