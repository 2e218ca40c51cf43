# Only the commands that sync the selected mailbox (NOOP, CHECK, APPEND, COPY, MOVE, EXPUNGE,
# FETCH, STORE, SEARCH, IDLE) report what other sessions changed; CAPABILITY, LIST, LSUB,
# STATUS, CREATE, RENAME, DELETE, SUBSCRIBE, NAMESPACE and ID say nothing about it, as in
# Dovecot 2.3.19.1 (checked with t/oracle/imap-transcript-check).
@connect imap one
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a1 LOGIN alice secret
S: a1 OK [CAPABILITY {*}] Logged in
C: a2 CREATE Quiet
S: a2 OK Create completed ({*} secs).
@send "a3 APPEND Quiet {22+}\r\nSubject: one\r\n\r\nbody\r\n\r\n"
S: a3 OK [APPENDUID {*} 1] Append completed ({*} secs).
C: a4 SELECT Quiet
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 1 EXISTS
S: * 1 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 2] Predicted next UID
S: a4 OK [READ-WRITE] Select completed ({*} secs).

@connect imap two
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: b1 LOGIN alice secret
S: b1 OK [CAPABILITY {*}] Logged in
@send "b2 APPEND Quiet {22+}\r\nSubject: two\r\n\r\nbody\r\n\r\n"
S: b2 OK [APPENDUID {*} 2] Append completed ({*} secs).
C: b3 SELECT Quiet
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 2 EXISTS
S: * 1 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 3] Predicted next UID
S: b3 OK [READ-WRITE] Select completed ({*} secs).
C: b4 STORE 1 +FLAGS (\Flagged)
S: * 1 FETCH (FLAGS (\Flagged))
S: b4 OK Store completed ({*} secs).

@use one
C: a5 CAPABILITY
S: * CAPABILITY {*}
S: a5 OK Capability completed ({*} secs).
C: a6 LIST "" Quiet*
S: * LIST (\HasNoChildren) {*} Quiet
S: a6 OK List completed ({*} secs).
C: a7 STATUS INBOX (MESSAGES)
S: * STATUS INBOX (MESSAGES {*})
S: a7 OK Status completed ({*} secs).
C: a8 CREATE Quiet2
S: a8 OK Create completed ({*} secs).
C: a9 RENAME Quiet2 Quiet3
S: a9 OK Rename completed ({*} secs).
C: a10 SUBSCRIBE Quiet3
S: a10 OK Subscribe completed ({*} secs).
C: a11 LSUB "" Quiet*
S: * LSUB () {*} Quiet3
S: a11 OK Lsub completed ({*} secs).
C: a12 UNSUBSCRIBE Quiet3
S: a12 OK Unsubscribe completed ({*} secs).
C: a13 DELETE Quiet3
S: a13 OK Delete completed ({*} secs).
C: a14 NAMESPACE
S: * NAMESPACE {*}
S: a14 OK Namespace completed ({*} secs).
C: a15 NOOP
S: * 1 FETCH (FLAGS (\Flagged \Recent))
S: * 2 EXISTS
S: a15 OK NOOP completed ({*} secs).
C: a16 LOGOUT
S: * BYE Logging out
S: a16 OK Logout completed ({*} secs).
@eof
@use two
C: b5 LOGOUT
S: * BYE Logging out
S: b5 OK Logout completed ({*} secs).
@eof
