# imap_urlauth_host without mail_attribute_dict: no URLAUTH (Dovecot's imap-client.c offers it
# only with both, since the keys live in the attributes); the commands answer as without
# imap_urlauth_host.
@config mail_location = maildir:{root}/mail/%u
@config imap_urlauth_host = example.com
@connect imap
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a LOGIN alice secret
S: a OK [CAPABILITY {*} SAVEDATE LITERAL+ NOTIFY] Logged in
C: b GENURLAUTH "imap://alice@example.com/INBOX/;UID=1;URLAUTH=anonymous" INTERNAL
S: b BAD Error in IMAP command GENURLAUTH: URLAUTH disabled ({*} secs).
C: c URLFETCH imap://alice@example.com/INBOX/;UID=1;URLAUTH=anonymous:internal:0107f999a4f060ca1819f885a6adfc000cd9e065d3
S: c BAD Error in IMAP command URLFETCH: URLAUTH disabled ({*} secs).
C: d RESETKEY
S: d BAD Error in IMAP command RESETKEY: URLAUTH disabled ({*} secs).
C: e LOGOUT
S: * BYE Logging out
S: e OK Logout completed ({*} secs).
