# SETMETADATA values are held in memory until the attribute file is written: a value may not
# be larger than the imap service's memory limit (vsz_limit). RFC 5464's [METADATA MAXSIZE n]
# refuses a larger one, before "+ OK" for a synchronizing literal; a non-synchronizing one is
# read and dropped, and nothing is stored. (Dovecot 2.3 has no such limit.) Values larger
# than a command line (imap_max_line_length) are fine.
@config mail_location = maildir:{root}/mail/%u
@config imap_metadata = yes
@config mail_attribute_dict = file:%h/dovecot-attributes
@config service imap {
@config   vsz_limit = 1M
@config }
@connect imap
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a LOGIN alice secret
S: a OK [CAPABILITY {*} METADATA] Logged in
C: b SETMETADATA INBOX (/private/big {1048577}
S: b NO [METADATA MAXSIZE 1048576] Entry value is too large ({*} secs).
@send "c SETMETADATA INBOX (/private/big {1048577+}\r\n"
@repeat 1048577 "x"
@send " /private/small \"s\")\r\n"
S: c NO [METADATA MAXSIZE 1048576] Entry value is too large ({*} secs).
C: d GETMETADATA INBOX (/private/big /private/small)
S: * METADATA INBOX (/private/big NIL /private/small NIL)
S: d OK Getmetadata completed ({*} secs).
@send "e SETMETADATA INBOX (/private/big {100000+}\r\n"
@repeat 100000 "x"
@send ")\r\n"
S: e OK Setmetadata completed ({*} secs).
C: f GETMETADATA (MAXSIZE 1000) INBOX /private/big
S: f OK [METADATA LONGENTRIES 100000] Getmetadata completed ({*} secs).
C: zz LOGOUT
S: * BYE Logging out
S: zz OK Logout completed ({*} secs).
