# ACL (RFC 4314) with Dovecot's acl and imap_acl plugins and `acl = vfile`, as Dovecot
# 2.3.19.1 answers the same conversation (checked with the oracle, same configuration):
# the capabilities, MYRIGHTS/GETACL/LISTRIGHTS, SETACL's +/- and negative rights, the owner
# keeping `a`, group and group-override identifiers, Dovecot's argument errors, and the
# rights enforced: a mailbox without `l` is not found and not listed, without `r` it cannot
# be selected, flags by `s`/`t`/`w`, EXPUNGE ignored without `e`, MOVE needs `e`, APPEND
# needs `i`, CREATE needs `k` on the parent (and copies its ACL), DELETE and RENAME `x`.
@config mail_location = maildir:{root}/mail/%u
@config mail_plugins = $mail_plugins acl
@config protocol imap {
@config   mail_plugins = $mail_plugins imap_acl
@config }
@config namespace inbox {
@config   inbox = yes
@config   separator = /
@config }
@config namespace public {
@config   type = public
@config   separator = /
@config   prefix = Public/
@config   location = maildir:{root}/mail/public
@config   list = yes
@config }
@config plugin {
@config   acl = vfile
@config }
@connect imap
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a LOGIN alice secret
S: a OK [CAPABILITY {*} ACL RIGHTS=texk] Logged in
C: b MYRIGHTS INBOX
S: * MYRIGHTS INBOX lrwstipekxacd
S: b OK Myrights completed ({*} secs).
C: c GETACL INBOX
S: * ACL INBOX alice lrwstipekxacd
S: c OK Getacl completed ({*} secs).
C: d LISTRIGHTS INBOX bob
S: * LISTRIGHTS INBOX bob "" l r w s t p i e k x a c d
S: d OK Listrights completed ({*} secs).
# A mailbox that does not exist still has the default rights; GETACL needs it to exist.
C: e MYRIGHTS Nope
S: * MYRIGHTS Nope lrwstipekxacd
S: e OK Myrights completed ({*} secs).
C: f GETACL Nope
S: f NO [NONEXISTENT] Mailbox doesn't exist: Nope ({*} secs).
C: g SETACL Nope bob lr
S: g NO [NONEXISTENT] Mailbox doesn't exist: Nope ({*} secs).
# Public mailboxes have no owner: nothing without an ACL.
C: h MYRIGHTS Public/x
S: h NO [NONEXISTENT] Mailbox doesn't exist: Public/x ({*} secs).
C: i GETACL Public/x
S: i NO [NONEXISTENT] Mailbox doesn't exist: Public/x ({*} secs).
# SETACL and GETACL; the owner's own entry keeps `a`.
C: j CREATE Foo
S: j OK Create completed ({*} secs).
C: k SETACL Foo bob lr
S: k OK Setacl complete ({*} secs).
C: l GETACL Foo
S: * ACL Foo bob lr alice lrwstipekxacd
S: l OK Getacl completed ({*} secs).
C: m SETACL Foo alice lr
S: m OK Setacl complete ({*} secs).
C: n GETACL Foo
S: * ACL Foo alice alr bob lr
S: n OK Getacl completed ({*} secs).
C: o MYRIGHTS Foo
S: * MYRIGHTS Foo lra
S: o OK Myrights completed ({*} secs).
# No right to change anything: read-only.
C: p SELECT Foo
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS ()] Read-only mailbox.
S: * 0 EXISTS
S: * 0 RECENT
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 1] Predicted next UID
S: p OK [READ-ONLY] Select completed ({*} secs).
C: q APPEND Foo {12}
S: q NO [NOPERM] Permission denied ({*} secs).
C: r UNSELECT
S: r OK Unselect completed ({*} secs).
C: s DELETE Foo
S: s NO [NOPERM] Permission denied ({*} secs).
C: t CREATE Foo/Bar
S: t NO [NOPERM] Permission denied ({*} secs).
# Without `l` the mailbox does not exist for the user.
C: u SETACL Foo alice ""
S: u OK Setacl complete ({*} secs).
C: v MYRIGHTS Foo
S: * MYRIGHTS Foo a
S: v OK Myrights completed ({*} secs).
C: w GETACL Foo
S: * ACL Foo alice a bob lr
S: w OK Getacl completed ({*} secs).
C: x LIST "" F*
S: x OK List completed ({*} secs).
C: y SELECT Foo
S: y NO Mailbox doesn't exist: Foo ({*} secs).
C: z STATUS Foo (MESSAGES)
S: z NO Mailbox doesn't exist: Foo ({*} secs).
C: a1 DELETE Foo
S: a1 NO [NONEXISTENT] Mailbox doesn't exist: Foo ({*} secs).
C: a2 RENAME Foo Baz
S: a2 NO [NONEXISTENT] Mailbox doesn't exist: Foo ({*} secs).
# Argument errors.
C: a3 SETACL Foo anyone lr
S: a3 BAD Error in IMAP command SETACL: 'anyone' identifier is disallowed ({*} secs).
C: a4 SETACL Foo #anyone lr
S: a4 BAD Error in IMAP command SETACL: Global ACLs can't be modified: #anyone ({*} secs).
C: a5 SETACL Foo bob lrz
S: a5 BAD Error in IMAP command SETACL: Invalid ACL right: z ({*} secs).
C: a6 SETACL Foo "" lr
S: a6 BAD Error in IMAP command SETACL: Invalid arguments ({*} secs).
C: a7 DELETEACL Foo bob
S: a7 OK Deleteacl complete ({*} secs).
C: a8 SETACL Foo alice +lrwi
S: a8 OK Setacl complete ({*} secs).
C: a9 GETACL Foo
S: * ACL Foo alice ailrw
S: a9 OK Getacl completed ({*} secs).
# Identifiers: negative rights, groups, group-override, owner.
C: b1 SETACL INBOX -bob w
S: b1 OK Setacl complete ({*} secs).
C: b2 SETACL INBOX $staff lr
S: b2 OK Setacl complete ({*} secs).
C: b3 SETACL INBOX !$over e
S: b3 OK Setacl complete ({*} secs).
C: b4 GETACL INBOX
S: * ACL INBOX $staff lr -bob w !$over ed alice lrwstipekxacd
S: b4 OK Getacl completed ({*} secs).
C: b5 SETACL INBOX alice -a
S: b5 OK Setacl complete ({*} secs).
C: b6 SETACL INBOX owner lr
S: b6 OK Setacl complete ({*} secs).
C: b7 GETACL INBOX
S: * ACL INBOX $staff lr alice alr -bob w !$over ed
S: b7 OK Getacl completed ({*} secs).
C: b8 DELETEACL INBOX -bob
S: b8 OK Deleteacl complete ({*} secs).
C: b9 GETACL INBOX
S: * ACL INBOX $staff lr alice alr !$over ed
S: b9 OK Getacl completed ({*} secs).
C: c1 SETACL INBOX owner lrwstipekxa
S: c1 OK Setacl complete ({*} secs).
# Flags by right: `s` only, then `s` `t` `i` without `e`.
C: c2 CREATE Box
S: c2 OK Create completed ({*} secs).
C: c3 APPEND Box (\Flagged) {12+}
C: Subject: x
C: 
S: c3 OK [APPENDUID {*} 1] Append completed ({*} secs).
C: c4 APPEND Box {12+}
C: Subject: y
C: 
S: c4 OK [APPENDUID {*} 2] Append completed ({*} secs).
C: c5 SETACL Box alice lrs
S: c5 OK Setacl complete ({*} secs).
C: c6 SELECT Box
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Seen)] Flags permitted.
S: * 2 EXISTS
S: * 2 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 3] Predicted next UID
S: c6 OK [READ-WRITE] Select completed ({*} secs).
C: c7 STORE 1 +FLAGS (\Seen \Flagged \Deleted)
S: * 1 FETCH (FLAGS (\Flagged \Seen \Recent))
S: c7 OK Store completed ({*} secs).
C: c8 STORE 2 FLAGS (\Seen \Answered)
S: * 2 FETCH (FLAGS (\Seen \Recent))
S: c8 OK Store completed ({*} secs).
C: c9 STORE 1 FLAGS ()
S: * 1 FETCH (FLAGS (\Flagged \Recent))
S: c9 OK Store completed ({*} secs).
C: d1 EXPUNGE
S: d1 OK Expunge completed ({*} secs).
C: d2 CLOSE
S: d2 OK Close completed ({*} secs).
C: d3 SETACL Box alice lrsti
S: d3 OK Setacl complete ({*} secs).
C: d4 SELECT Box
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Deleted \Seen)] Flags permitted.
S: * 2 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 3] Predicted next UID
S: d4 OK [READ-WRITE] Select completed ({*} secs).
C: d5 STORE 2 +FLAGS (\Deleted)
S: * 2 FETCH (FLAGS (\Deleted \Seen))
S: d5 OK Store completed ({*} secs).
C: d6 EXPUNGE
S: d6 OK Expunge ignored: Permission denied ({*} secs).
C: d7 COPY 1 Box
S: * 3 EXISTS
S: * 1 RECENT
S: d7 OK [COPYUID {*} 1 3] Copy completed ({*} secs).
C: d8 MOVE 1 INBOX
S: d8 NO [NOPERM] Permission denied ({*} secs).
C: d9 APPEND Box (\Flagged \Seen) {12+}
C: Subject: z
C: 
S: * 4 EXISTS
S: * 2 RECENT
S: d9 OK [APPENDUID {*} 4] Append completed ({*} secs).
C: e1 FETCH 1:* FLAGS
S: * 1 FETCH (FLAGS (\Flagged))
S: * 2 FETCH (FLAGS (\Deleted \Seen))
S: * 3 FETCH (FLAGS (\Recent))
S: * 4 FETCH (FLAGS (\Seen \Recent))
S: e1 OK Fetch completed ({*} secs).
C: e2 UNSELECT
S: e2 OK Unselect completed ({*} secs).
# CREATE needs `k` on the parent and copies the parent's ACL; RENAME needs `x`.
C: e3 SETACL Box alice lra
S: e3 OK Setacl complete ({*} secs).
C: e4 CREATE Box/Sub
S: e4 NO [NOPERM] Permission denied ({*} secs).
C: e5 SETACL Box alice lrak
S: e5 OK Setacl complete ({*} secs).
C: e6 CREATE Box/Sub
S: e6 OK Create completed ({*} secs).
C: e7 GETACL Box/Sub
S: * ACL Box/Sub alice aklrc
S: e7 OK Getacl completed ({*} secs).
C: e8 RENAME Box Box2
S: e8 NO [NOPERM] Permission denied ({*} secs).
C: e9 RENAME Box/Sub Foo2
S: e9 NO [NOPERM] Permission denied ({*} secs).
# LIST: a mailbox without `l` shows only as the parent of visible children the patterns
# do not list; children it cannot see do not count.
C: f2 CREATE Par/Kid
S: f2 OK Create completed ({*} secs).
C: f3 CREATE Par/Hid
S: f3 OK Create completed ({*} secs).
C: f4 CREATE Vis/Hid
S: f4 OK Create completed ({*} secs).
C: f5 SETACL Par/Hid alice a
S: f5 OK Setacl complete ({*} secs).
C: f6 SETACL Vis/Hid alice a
S: f6 OK Setacl complete ({*} secs).
C: f7 CREATE Real
S: f7 OK Create completed ({*} secs).
C: f8 CREATE Real/Kid
S: f8 OK Create completed ({*} secs).
C: f9 SETACL Real alice a
S: f9 OK Setacl complete ({*} secs).
C: g1 LIST "" Vis
S: * LIST (\Noselect \HasNoChildren) "/" Vis
S: g1 OK List completed ({*} secs).
C: g2 LIST "" Par
S: * LIST (\Noselect \HasChildren) "/" Par
S: g2 OK List completed ({*} secs).
C: g3 LIST "" R%
S: * LIST (\Noselect \HasChildren) "/" Real
S: g3 OK List completed ({*} secs).
C: g4 LIST "" Real*
S: * LIST (\HasNoChildren) "/" Real/Kid
S: g4 OK List completed ({*} secs).
C: g5 LIST "" Par/%
S: * LIST (\HasNoChildren) "/" Par/Kid
S: g5 OK List completed ({*} secs).
C: f1 LOGOUT
S: * BYE Logging out
S: f1 OK Logout completed ({*} secs).
@eof
