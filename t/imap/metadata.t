# METADATA (RFC 5464) with `mail_attribute_dict = file:%h/dovecot-attributes`, as Dovecot
# 2.3.19.1 answers the same conversation (checked with the oracle, same configuration):
# server entries on "", mailbox entries, the configured /shared/comment and /shared/admin,
# /private/specialuse and the mailbox comment, DEPTH, MAXSIZE with LONGENTRIES, NIL to
# delete, literals and literal8, Dovecot's argument errors, internal entries refused.
@config mail_location = maildir:{root}/mail/%u
@config imap_metadata = yes
@config mail_attribute_dict = file:%h/dovecot-attributes
@config mail_server_comment = server comment here
@config mail_server_admin = mailto:admin@example.com
@config namespace inbox {
@config   inbox = yes
@config   separator = /
@config   mailbox Sent {
@config     special_use = \Sent
@config   }
@config   mailbox Trash {
@config     special_use = \Trash
@config     comment = trash can
@config   }
@config }
@connect imap
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a LOGIN alice secret
S: a OK [CAPABILITY {*} LITERAL+ NOTIFY METADATA SPECIAL-USE] Logged in
# RFC 5464 §4.2.1 example: a server entry.
C: b GETMETADATA "" /shared/comment
S: * METADATA "" (/shared/comment {19}
S: server comment here)
S: b OK Getmetadata completed ({*} secs).
C: c GETMETADATA "" (/shared/comment /shared/admin /private/comment)
S: * METADATA "" (/shared/comment {19}
S: server comment here /shared/admin {24}
S: mailto:admin@example.com /private/comment NIL)
S: c OK Getmetadata completed ({*} secs).
C: d SETMETADATA "" (/private/comment "hello")
S: d OK Setmetadata completed ({*} secs).
C: e GETMETADATA "" (/private/comment)
S: * METADATA "" (/private/comment {5}
S: hello)
S: e OK Getmetadata completed ({*} secs).
# Dovecot lists nothing below the server's roots.
C: f GETMETADATA (DEPTH infinity) "" /private
S: f OK Getmetadata completed ({*} secs).
C: g SETMETADATA "" (/shared/admin "x")
S: g NO [CANNOT] The /shared/vendor/vendor.dovecot/pvt/server/admin attribute cannot be changed ({*} secs).
# RFC 5464 §4.3 examples: mailbox entries, NIL deletes.
C: h CREATE Sent
S: h OK Create completed ({*} secs).
C: i GETMETADATA Sent /private/specialuse
S: * METADATA Sent (/private/specialuse {5}
S: \Sent)
S: i OK Getmetadata completed ({*} secs).
C: j SETMETADATA Sent (/private/specialuse "\\Junk")
S: j NO [CANNOT] The /private/specialuse attribute cannot be changed ({*} secs).
C: k SETMETADATA INBOX (/private/comment "inbox comment" /shared/vendor/foo/bar "x")
S: k OK Setmetadata completed ({*} secs).
C: l GETMETADATA (DEPTH infinity) INBOX (/private /shared)
S: * METADATA INBOX (/private/comment {13}
S: inbox comment /shared/vendor/foo/bar {1}
S: x)
S: l OK Getmetadata completed ({*} secs).
C: m GETMETADATA (MAXSIZE 3) INBOX (/private/comment /shared/vendor/foo/bar)
S: * METADATA INBOX (/shared/vendor/foo/bar {1}
S: x)
S: m OK [METADATA LONGENTRIES 13] Getmetadata completed ({*} secs).
C: n GETMETADATA (DEPTH 1) INBOX /shared
S: n OK Getmetadata completed ({*} secs).
C: o GETMETADATA (DEPTH 1) INBOX /shared/vendor
S: o OK Getmetadata completed ({*} secs).
C: p SETMETADATA INBOX (/private/x atomvalue)
S: p OK Setmetadata completed ({*} secs).
C: q GETMETADATA inbox /private/X
S: * METADATA INBOX (/private/x {9}
S: atomvalue)
S: q OK Getmetadata completed ({*} secs).
C: r SETMETADATA INBOX (/private/x NIL)
S: r OK Setmetadata completed ({*} secs).
C: s GETMETADATA INBOX /private/x
S: * METADATA INBOX (/private/x NIL)
S: s OK Getmetadata completed ({*} secs).
# The configured comment is a default; the user's replaces it until deleted.
C: t CREATE Trash
S: t OK Create completed ({*} secs).
C: u GETMETADATA (DEPTH infinity) Trash (/private /shared)
S: * METADATA Trash (/private/comment {9}
S: trash can /private/specialuse {6}
S: \Trash /shared/comment {9}
S: trash can)
S: u OK Getmetadata completed ({*} secs).
C: v SETMETADATA Trash (/private/comment "mine")
S: v OK Setmetadata completed ({*} secs).
C: w GETMETADATA Trash (/private/comment /shared/comment)
S: * METADATA Trash (/private/comment {4}
S: mine /shared/comment {9}
S: trash can)
S: w OK Getmetadata completed ({*} secs).
C: x SETMETADATA Trash (/private/comment NIL)
S: x OK Setmetadata completed ({*} secs).
C: y GETMETADATA Trash (/private/comment)
S: * METADATA Trash (/private/comment {9}
S: trash can)
S: y OK Getmetadata completed ({*} secs).
# Literal values, literal8 and 8-bit data. (DEPTH lists the dict's keys in key order; Dovecot
# in its hash table's order.)
C: z1 SETMETADATA Sent (/shared/x {7}
S: + OK
@send "value 1 /shared/y ~{3+}\r\nabc /shared/z \"t\xc3\xa4b\")\r\n"
S: z1 OK Setmetadata completed ({*} secs).
C: z2 GETMETADATA Sent (/shared/x /shared/y /shared/z)
S: * METADATA Sent (/shared/x {7}
S: value 1 /shared/y {3}
S: abc /shared/z {4}
S: täb)
S: z2 OK Getmetadata completed ({*} secs).
C: z3 SETMETADATA Sent (/shared/nul {3+}
@send "a\0b)\r\n"
S: z3 NO [CANNOT] Attribute string value has NULs ({*} secs).
# Renaming keeps the entries (they are keyed by the mailbox GUID); deleting drops them.
C: z4 RENAME Sent Sent2
S: z4 OK Rename completed ({*} secs).
C: z5 GETMETADATA Sent2 /shared/x
S: * METADATA Sent2 (/shared/x {7}
S: value 1)
S: z5 OK Getmetadata completed ({*} secs).
C: z6 DELETE Sent2
S: z6 OK Delete completed ({*} secs).
C: z7 CREATE Sent2
S: z7 OK Create completed ({*} secs).
C: z8 GETMETADATA (DEPTH 1) Sent2 /shared
S: z8 OK Getmetadata completed ({*} secs).
# Errors, with Dovecot's texts.
C: e1 GETMETADATA
S: e1 BAD Error in IMAP command GETMETADATA: Invalid arguments ({*} secs).
C: e2 GETMETADATA INBOX foo
S: e2 BAD Error in IMAP command GETMETADATA: Entry name must begin with '/' ({*} secs).
C: e3 GETMETADATA INBOX /foo
S: e3 BAD Error in IMAP command GETMETADATA: Entry name must begin with /private or /shared ({*} secs).
C: e4 GETMETADATA INBOX /private/
S: e4 BAD Error in IMAP command GETMETADATA: Entry name can't end with '/' ({*} secs).
C: e5 GETMETADATA Nope /private/comment
S: e5 NO Mailbox doesn't exist: Nope ({*} secs).
C: e6 GETMETADATA (DEPTH 2) INBOX /private
S: e6 BAD Error in IMAP command GETMETADATA: Invalid value for DEPTH option ({*} secs).
C: e7 GETMETADATA (FOO) INBOX /private
S: e7 BAD Error in IMAP command GETMETADATA: Unknown option ({*} secs).
C: e8 GETMETADATA INBOX /private/vendor/vendor.dovecot/pvt/x
S: * METADATA INBOX (/private/vendor/vendor.dovecot/pvt/x NIL)
S: e8 OK Getmetadata completed ({*} secs).
C: e9 SETMETADATA INBOX (/private/x)
S: e9 BAD Error in IMAP command SETMETADATA: Entry value missing ({*} secs).
C: f1 SETMETADATA INBOX (/private/x (a))
S: f1 BAD Error in IMAP command SETMETADATA: Entry value can't be a list ({*} secs).
C: f2 SETMETADATA INBOX (/private/vendor/vendor.dovecot/pvt/x "y")
S: f2 NO [CANNOT] Internal mailbox attributes cannot be accessed ({*} secs).
C: f3 SETMETADATA Nope (/private/x {1}
S: f3 NO Mailbox doesn't exist: Nope ({*} secs).
C: f4 SETMETADATA INBOX (/private/a "1" /foo "2")
S: f4 BAD Error in IMAP command SETMETADATA: Entry name must begin with /private or /shared ({*} secs).
C: f5 GETMETADATA INBOX /private/a
S: * METADATA INBOX (/private/a NIL)
S: f5 OK Getmetadata completed ({*} secs).
C: f6 SETMETADATA INBOX /private/x
S: f6 BAD Error in IMAP command SETMETADATA: Invalid arguments ({*} secs).
C: zz LOGOUT
S: * BYE Logging out
S: zz OK Logout completed ({*} secs).
