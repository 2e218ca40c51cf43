# imap_capability replacing the list without naming IMAP4rev2: it is not advertised and
# ENABLE IMAP4rev2 enables nothing (ENABLE only enables what the list offers, as Dovecot's):
# the session stays IMAP4rev1. The commands RFC 9051 folded in are not tied to the list (as
# in Dovecot, imap_capability changes only what is advertised). Written by hand: Dovecot 2.3
# has no IMAP4rev2.
@config imap_capability = IMAP4rev1 SASL-IR ENABLE IDLE
@connect imap one
S: * OK [CAPABILITY IMAP4rev1 SASL-IR ENABLE IDLE STARTTLS {*}] Dovecot (Debian) ready.
C: a1 LOGIN alice secret
S: a1 OK [CAPABILITY IMAP4rev1 SASL-IR ENABLE IDLE] Logged in
C: a2 ENABLE IMAP4rev2
S: a2 OK Enabled ({*} secs).
C: a3 CREATE CapOff
S: a3 OK Create completed ({*} secs).
@send "a4 APPEND CapOff {23+}\r\nSubject: m1\r\n\r\nbody 1\r\n\r\n"
S: a4 OK [APPENDUID {*} 1] Append completed ({*} secs).
C: a5 STATUS CapOff (DELETED)
S: a5 BAD Error in IMAP command STATUS: Invalid status item DELETED ({*} secs).
C: a6 SELECT CapOff
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 1 EXISTS
S: * 1 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 2] Predicted next UID
S: a6 OK [READ-WRITE] Select completed ({*} secs).
C: a7 SEARCH NEW
S: * SEARCH 1
S: a7 OK Search completed ({*} secs).
C: a8 FETCH 1 FLAGS
S: * 1 FETCH (FLAGS (\Recent))
S: a8 OK Fetch completed ({*} secs).
# ESEARCH, MOVE, UNSELECT and NAMESPACE answer though the list does not name them.
C: a9 SEARCH RETURN (COUNT) ALL
S: * ESEARCH (TAG "a9") COUNT 1
S: a9 OK Search completed ({*} secs).
C: a10 CREATE CapOffTo
S: a10 OK Create completed ({*} secs).
C: a11 MOVE 1 CapOffTo
S: * OK [COPYUID {*} 1 1] Moved UIDs.
S: * 1 EXPUNGE
S: * 0 RECENT
S: a11 OK Move completed ({*} secs).
C: a12 UNSELECT
S: a12 OK Unselect completed ({*} secs).
C: a13 NAMESPACE
S: * NAMESPACE (("" ".")) NIL NIL
S: a13 OK Namespace completed ({*} secs).
C: a14 LOGOUT
S: * BYE Logging out
S: a14 OK Logout completed ({*} secs).
@eof
