# INBOX in any case, also as the first level of a hierarchical name: `inbox.Sub` is
# `INBOX.Sub` for every command that opens, creates, renames, deletes or subscribes a
# mailbox (Dovecot's mailbox_alloc: "clients expect INBOX to be case insensitive"), while
# STATUS echoes the name as the client gave it. Answers are Dovecot 2.3.19.1's, recorded.
@config mail_location = maildir:{root}/mail/%u
@connect imap
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a LOGIN alice secret
S: a OK [CAPABILITY {*}] Logged in
C: b CREATE INBOX.CaseSub
S: b OK Create completed ({*} secs).
C: c SELECT inbox.CaseSub
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 0 EXISTS
S: * 0 RECENT
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 1] Predicted next UID
S: c OK [READ-WRITE] Select completed ({*} secs).
C: d STATUS iNbOx.CaseSub (MESSAGES)
S: * STATUS iNbOx.CaseSub (MESSAGES 0)
S: d OK Status completed ({*} secs).
C: e CREATE inbox.CaseTwo
S: e OK Create completed ({*} secs).
C: f RENAME inbox.CaseTwo Inbox.CaseThree
S: f OK Rename completed ({*} secs).
C: g LIST "" INBOX.CaseT*
S: * LIST (\HasNoChildren) "." INBOX.CaseThree
S: g OK List completed ({*} secs).
C: g2 LIST "" inbox.CaseS*
S: * LIST (\HasNoChildren) "." INBOX.CaseSub
S: g2 OK List completed ({*} secs).
C: h SUBSCRIBE inbox.CaseSub
S: h OK Subscribe completed ({*} secs).
C: i LSUB "" INBOX.Case*
S: * LSUB () "." INBOX.CaseSub
S: i OK Lsub completed ({*} secs).
C: m CLOSE
S: m OK Close completed ({*} secs).
C: j APPEND inBox.CaseSub {3+}
C: x
C: 
S: j OK [APPENDUID {*} 1] Append completed ({*} secs).
C: k DELETE INBOX.CaseThree
S: k OK Delete completed ({*} secs).
C: l UNSUBSCRIBE INBOX.CaseSub
S: l OK Unsubscribe completed ({*} secs).
C: n DELETE inbox.casesub
S: n NO [NONEXISTENT] Mailbox doesn't exist: INBOX.casesub ({*} secs).
C: o DELETE inbox.CaseSub
S: o OK Delete completed ({*} secs).
C: p LOGOUT
S: * BYE Logging out
S: p OK Logout completed ({*} secs).
@eof
