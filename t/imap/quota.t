# QUOTA (RFC 2087) with the quota plugin's Maildir++ backend, as Dovecot 2.3.19.1 answers
# the same conversation (checked with the oracle, same configuration, same messages):
# GETQUOTAROOT / GETQUOTA with STORAGE in kilobytes rounded up, SETQUOTA refused, APPEND
# refused over quota before the literal is read, COPY over quota refused, MOVE within the
# quota root allowed even when full, EXPUNGE lowering the usage; Trash has 1K more room.
@config mail_location = maildir:{root}/mail/%u
@config mail_plugins = $mail_plugins quota
@config protocol imap {
@config   mail_plugins = $mail_plugins imap_quota
@config }
@config namespace inbox {
@config   inbox = yes
@config   mailbox Trash {
@config     special_use = \Trash
@config   }
@config }
@config plugin {
@config   quota = maildir:User quota
@config   quota_rule = *:storage=10K
@config   quota_rule2 = Trash:storage=+1K
@config   quota_rule3 = *:messages=5
@config }
@connect imap
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a LOGIN alice secret
S: a OK [CAPABILITY {*} SPECIAL-USE QUOTA] Logged in
C: b GETQUOTAROOT INBOX
S: * QUOTAROOT INBOX "User quota"
S: * QUOTA "User quota" (STORAGE 0 10 MESSAGE 0 5)
S: b OK Getquotaroot completed ({*} secs).
C: c GETQUOTA "User quota"
S: * QUOTA "User quota" (STORAGE 0 10 MESSAGE 0 5)
S: c OK Getquota completed ({*} secs).
C: d GETQUOTA ""
S: d NO Quota root doesn't exist ({*} secs).
C: e SETQUOTA "User quota" (STORAGE 100)
S: e NO Quota can be changed only by admin ({*} secs).
C: e2 SETQUOTA "User quota" STORAGE
S: e2 BAD Error in IMAP command SETQUOTA: Invalid arguments ({*} secs).
C: f GETQUOTAROOT
S: f BAD Error in IMAP command GETQUOTAROOT: Missing arguments ({*} secs).
C: g GETQUOTAROOT nonexistent
S: * QUOTAROOT nonexistent "User quota"
S: * QUOTA "User quota" (STORAGE 0 10 MESSAGE 0 5)
S: g OK Getquotaroot completed ({*} secs).
C: h CREATE Trash
S: h OK Create completed ({*} secs).
C: i APPEND INBOX {3016}
S: + OK
@send "Subject: x\r\n\r\n"
@repeat 3000 "y"
@send "\r\n\r\n"
S: i OK [APPENDUID {*} 1] Append completed ({*} secs).
C: j APPEND INBOX {3016}
S: + OK
@send "Subject: x\r\n\r\n"
@repeat 3000 "y"
@send "\r\n\r\n"
S: j OK [APPENDUID {*} 2] Append completed ({*} secs).
C: k APPEND INBOX {3016}
S: + OK
@send "Subject: x\r\n\r\n"
@repeat 3000 "y"
@send "\r\n\r\n"
S: k OK [APPENDUID {*} 3] Append completed ({*} secs).
C: l GETQUOTAROOT INBOX
S: * QUOTAROOT INBOX "User quota"
S: * QUOTA "User quota" (STORAGE 9 10 MESSAGE 3 5)
S: l OK Getquotaroot completed ({*} secs).
# Over quota: the NO comes instead of "+ OK".
C: m APPEND INBOX {3016}
S: m NO [OVERQUOTA] Quota exceeded (mailbox for user is full) ({*} secs).
C: n SELECT INBOX
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 3 EXISTS
S: * 3 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 4] Predicted next UID
S: n OK [READ-WRITE] Select completed ({*} secs).
C: o COPY 1:3 Trash
S: o NO [OVERQUOTA] Quota exceeded (mailbox for user is full) ({*} secs).
C: p COPY 1 Trash
S: p NO [OVERQUOTA] Quota exceeded (mailbox for user is full) ({*} secs).
C: q MOVE 1 Trash
S: * OK [COPYUID {*} 1 1] Moved UIDs.
S: * 1 EXPUNGE
S: * 2 RECENT
S: q OK Move completed ({*} secs).
C: r GETQUOTAROOT Trash
S: * QUOTAROOT Trash "User quota"
S: * QUOTA "User quota" (STORAGE 9 10 MESSAGE 3 5)
S: r OK Getquotaroot completed ({*} secs).
C: s STORE 1 +FLAGS.SILENT (\Deleted)
S: s OK Store completed ({*} secs).
C: t EXPUNGE
S: * 1 EXPUNGE
S: * 1 RECENT
S: t OK Expunge completed ({*} secs).
C: u GETQUOTA "User quota"
S: * QUOTA "User quota" (STORAGE 6 10 MESSAGE 2 5)
S: u OK Getquota completed ({*} secs).
C: v LOGOUT
S: * BYE Logging out
S: v OK Logout completed ({*} secs).
@eof
