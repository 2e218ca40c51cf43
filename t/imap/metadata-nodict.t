# imap_metadata = yes without mail_attribute_dict: no METADATA capability (Dovecot advertises
# it only with a dict), the configured server and special-use entries still answer, the rest
# is "not enabled". As Dovecot 2.3.19.1 answers the same conversation (checked with the oracle).
@config mail_location = maildir:{root}/mail/%u
@config imap_metadata = yes
@config mail_server_comment = server comment here
@config mail_server_admin = mailto:admin@example.com
@config namespace inbox {
@config   inbox = yes
@config   separator = /
@config   mailbox Trash {
@config     special_use = \Trash
@config     comment = trash can
@config   }
@config }
@connect imap
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a LOGIN alice secret
S: a OK [CAPABILITY {*} LITERAL+ NOTIFY SPECIAL-USE] Logged in
C: b GETMETADATA "" /shared/comment
S: * METADATA "" (/shared/comment {19}
S: server comment here)
S: b OK Getmetadata completed ({*} secs).
C: c GETMETADATA INBOX /private/comment
S: c NO [CANNOT] Mailbox attributes not enabled ({*} secs).
C: d SETMETADATA INBOX (/private/comment "x")
S: d NO [CANNOT] Mailbox attributes not enabled ({*} secs).
C: e CREATE Trash
S: e OK Create completed ({*} secs).
C: f GETMETADATA Trash (/private/specialuse /private/comment /shared/comment)
S: * METADATA Trash (/private/specialuse {6}
S: \Trash)
S: * NO Mailbox attributes not enabled
S: f NO [CANNOT] Mailbox attributes not enabled ({*} secs).
C: g GETMETADATA (DEPTH infinity) Trash (/private /shared)
S: * METADATA Trash (/private/specialuse {6}
S: \Trash)
S: g OK Getmetadata completed ({*} secs).
C: h GETMETADATA "" /shared/admin
S: * METADATA "" (/shared/admin {24}
S: mailto:admin@example.com)
S: h OK Getmetadata completed ({*} secs).
C: i GETMETADATA (DEPTH 1) "" /shared
S: i OK Getmetadata completed ({*} secs).
C: zz LOGOUT
S: * BYE Logging out
S: zz OK Logout completed ({*} secs).
