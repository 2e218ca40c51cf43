# imap_metadata = no (the default) with a mail_attribute_dict: no METADATA capability, and
# the commands reach only Dovecot's validated entry, /private/specialuse; the rest is "not
# enabled". As Dovecot 2.3.19.1 answers the same conversation (checked with the oracle).
@config mail_location = maildir:{root}/mail/%u
@config mail_attribute_dict = file:%h/dovecot-attributes
@config mail_server_comment = server comment here
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
S: a OK [CAPABILITY {*} LITERAL+ NOTIFY SPECIAL-USE] Logged in
C: b GETMETADATA "" /shared/comment
S: b NO [CANNOT] Generic mailbox attributes not enabled ({*} secs).
C: c GETMETADATA INBOX /private/comment
S: c NO [CANNOT] Generic mailbox attributes not enabled ({*} secs).
C: d SETMETADATA INBOX (/private/comment "x")
S: d NO [CANNOT] Generic mailbox attributes not enabled ({*} secs).
C: e CREATE Sent
S: e OK Create completed ({*} secs).
C: f GETMETADATA Sent (/private/specialuse)
S: * METADATA Sent (/private/specialuse {5}
S: \Sent)
S: f OK Getmetadata completed ({*} secs).
C: g SETMETADATA Sent (/private/specialuse "x")
S: g NO [CANNOT] The /private/specialuse attribute cannot be changed ({*} secs).
C: h GETMETADATA (DEPTH infinity) Sent /private
S: * METADATA Sent (/private/specialuse {5}
S: \Sent)
S: h OK Getmetadata completed ({*} secs).
C: i GETMETADATA (DEPTH 1) INBOX /shared
S: i OK Getmetadata completed ({*} secs).
C: j GETMETADATA Sent (/private/specialuse /private/comment /shared/x)
S: * METADATA Sent (/private/specialuse {5}
S: \Sent)
S: * NO Generic mailbox attributes not enabled
S: j NO [CANNOT] Generic mailbox attributes not enabled ({*} secs).
C: k CREATE Trash
S: k OK Create completed ({*} secs).
C: l GETMETADATA (DEPTH infinity) Trash (/private /shared)
S: * METADATA Trash (/private/specialuse {6}
S: \Trash)
S: l OK Getmetadata completed ({*} secs).
C: m GETMETADATA Trash /shared/comment
S: m NO [CANNOT] Generic mailbox attributes not enabled ({*} secs).
C: zz LOGOUT
S: * BYE Logging out
S: zz OK Logout completed ({*} secs).
