# imap_capability = +X keeps the built-in list, IMAP4rev2 included: advertised before and
# after login, and ENABLE IMAP4rev2 works. Written by hand: Dovecot 2.3 has no IMAP4rev2.
@config imap_capability = +XREV2TEST
@connect imap one
S: * OK [CAPABILITY IMAP4rev1 IMAP4rev2 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE XREV2TEST LITERAL+ {*}] Dovecot (Debian) ready.
C: a1 LOGIN alice secret
S: a1 OK [CAPABILITY IMAP4rev1 IMAP4rev2 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT {*} SAVEDATE XREV2TEST LITERAL+{*}] Logged in
C: a2 ENABLE IMAP4rev2 CONDSTORE
S: * ENABLED IMAP4rev2 CONDSTORE
S: a2 OK Enabled ({*} secs).
# Enabled again: listed again, as Dovecot does for the others.
C: a3 enable imap4rev2
S: * ENABLED IMAP4rev2
S: a3 OK Enabled ({*} secs).
C: a4 LOGOUT
S: * BYE Logging out
S: a4 OK Logout completed ({*} secs).
@eof
