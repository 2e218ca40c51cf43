# Two sessions of one user, in two mail processes: each learns of the other's APPEND, STORE
# and EXPUNGE by untagged EXISTS, FETCH FLAGS and EXPUNGE at the points RFC 3501 allows
# (EXPUNGE never during FETCH, STORE or SEARCH), and IDLE is told at once (local changes wake
# it through inotify, well before mailbox_idle_check_interval). Checked against Dovecot
# 2.3.19.1.
@connect imap one
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a1 LOGIN alice secret
S: a1 OK [CAPABILITY {*}] Logged in
C: a2 SELECT INBOX
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 0 EXISTS
S: * 0 RECENT
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 1] Predicted next UID
S: a2 OK [READ-WRITE] Select completed ({*} secs).

@connect imap two
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: b1 LOGIN alice secret
S: b1 OK [CAPABILITY {*}] Logged in
C: b2 SELECT INBOX
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 0 EXISTS
S: * 0 RECENT
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 1] Predicted next UID
S: b2 OK [READ-WRITE] Select completed ({*} secs).
@send "b3 APPEND INBOX (\\Seen) {22+}\r\nSubject: one\r\n\r\nbody\r\n\r\n"
S: * 1 EXISTS
S: * 1 RECENT
S: b3 OK [APPENDUID {*} 1] Append completed ({*} secs).

# The other session hears of the new message at its next command.
@use one
C: a3 NOOP
S: * 1 EXISTS
S: a3 OK NOOP completed ({*} secs).

@use two
C: b4 STORE 1 +FLAGS (\Flagged)
S: * 1 FETCH (FLAGS (\Flagged \Seen \Recent))
S: b4 OK Store completed ({*} secs).
@use one
C: a4 NOOP
S: * 1 FETCH (FLAGS (\Flagged \Seen))
S: a4 OK NOOP completed ({*} secs).

# An expunge is held back during FETCH, STORE and SEARCH (the numbers must not shift under
# the client), then reported. Meanwhile the message shows as it was last, with its newest
# flags.
@use two
C: b5 STORE 1 +FLAGS.SILENT (\Deleted)
S: b5 OK Store completed ({*} secs).
C: b6 EXPUNGE
S: * 1 EXPUNGE
S: * 0 RECENT
S: b6 OK Expunge completed ({*} secs).
@use one
C: a5 FETCH 1 (UID FLAGS)
S: * 1 FETCH (UID 1 FLAGS (\Flagged \Deleted \Seen))
S: * 1 FETCH (FLAGS (\Flagged \Deleted \Seen))
S: a5 OK Fetch completed ({*} secs).
C: a6 SEARCH ALL
S: * SEARCH 1
S: a6 OK Search completed ({*} secs).
C: a7 NOOP
S: * 1 EXPUNGE
S: a7 OK NOOP completed ({*} secs).

# IDLE: told of the other session's changes as they happen.
C: a8 IDLE
S: + idling
@use two
@send "b7 APPEND INBOX {22+}\r\nSubject: two\r\n\r\nbody\r\n\r\n"
S: * 1 EXISTS
S: * 1 RECENT
S: b7 OK [APPENDUID {*} 2] Append completed ({*} secs).
@use one
S: * 1 EXISTS
@use two
C: b8 STORE 1 +FLAGS (\Answered)
S: * 1 FETCH (FLAGS (\Answered \Recent))
S: b8 OK Store completed ({*} secs).
@use one
S: * 1 FETCH (FLAGS (\Answered))
C: DONE
S: a8 OK Idle completed ({*} secs).
C: a9 LOGOUT
S: * BYE Logging out
S: a9 OK Logout completed ({*} secs).
@eof
@use two
C: b9 LOGOUT
S: * BYE Logging out
S: b9 OK Logout completed ({*} secs).
@eof
