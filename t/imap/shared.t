# Shared namespaces with the owner in the prefix (`prefix = shared/%%u/`), Dovecot's shared
# storage with the acl plugin and `acl_shared_dict`, as Dovecot 2.3.19.1 answers the same
# conversation with the same configuration and users (alice uid 1000, bob uid 1001).
# tests/shared_oracle.rs compares both servers on a store both users can read; here alice's
# Maildir is hers alone (0700), as Dovecot and cote create it: bob sees the shared root in
# NAMESPACE, but even with rights on alice's Team he cannot read her files, so nothing of
# hers is listed and her mailboxes do not exist for him, like those of users who do not
# exist.
@config mail_location = maildir:{root}/mail/%u
@config mail_plugins = $mail_plugins acl
@config protocol imap {
@config   mail_plugins = $mail_plugins imap_acl
@config }
@config namespace inbox {
@config   inbox = yes
@config   separator = /
@config }
@config namespace shared {
@config   type = shared
@config   separator = /
@config   prefix = shared/%%u/
@config   location = maildir:{root}/mail/%%u
@config   subscriptions = no
@config   list = children
@config }
# bob's mail process (uid 1001) looks alice (uid 1000) up: the auth service allows that only
# on a listener open to all (its error says so).
@config service auth {
@config   unix_listener auth-userdb {
@config     mode = 0777
@config   }
@config }
@config plugin {
@config   acl = vfile
@config   acl_shared_dict = file:{root}/mail/shared-mailboxes.db
@config }
@connect imap alice
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a LOGIN alice secret
S: a OK [CAPABILITY {*} ACL RIGHTS=texk] Logged in
C: b NAMESPACE
S: * NAMESPACE (("" "/")) (("shared/" "/")) NIL
S: b OK Namespace completed ({*} secs).
# Nothing is shared yet: no `shared` in LIST.
C: c LIST "" *
S: * LIST (\HasNoChildren) "/" INBOX
S: c OK List completed ({*} secs).
C: d CREATE Team
S: d OK Create completed ({*} secs).
C: e CREATE Private
S: e OK Create completed ({*} secs).
C: f APPEND Team {12+}
C: Subject: x
C:
S: f OK [APPENDUID {*} 1] Append completed ({*} secs).
C: g SETACL Team bob lr
S: g OK Setacl complete ({*} secs).
# Her own mailboxes are not listed under shared/ for her.
C: h LIST "" shared/*
S: h OK List completed ({*} secs).
C: i LOGOUT
S: * BYE Logging out
S: i OK Logout completed ({*} secs).
@eof
@connect imap bob
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a LOGIN bob hunter2
S: a OK [CAPABILITY {*} ACL RIGHTS=texk] Logged in
C: b LIST "" %
S: * LIST (\HasNoChildren) "/" INBOX
S: b OK List completed ({*} secs).
C: c LIST "" shared/%
S: c OK List completed ({*} secs).
C: d LIST "" shared/alice/*
S: d OK List completed ({*} secs).
C: e MYRIGHTS shared/alice/Team
S: e NO [NONEXISTENT] Mailbox doesn't exist: shared/alice/Team ({*} secs).
C: f SELECT shared/alice/Team
S: f NO Mailbox doesn't exist: shared/alice/Team ({*} secs).
C: g SELECT shared/nobody/INBOX
S: g NO Mailbox doesn't exist: shared/nobody/INBOX ({*} secs).
C: h SELECT shared
S: h NO Mailbox doesn't exist: shared ({*} secs).
C: i NAMESPACE
S: * NAMESPACE (("" "/")) (("shared/" "/")) NIL
S: i OK Namespace completed ({*} secs).
C: j LOGOUT
S: * BYE Logging out
S: j OK Logout completed ({*} secs).
@eof
