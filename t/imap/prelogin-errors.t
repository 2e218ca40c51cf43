# Bad commands get BAD with a reason and the session goes on; the third unknown command ends it,
# as in Dovecot.
@connect imap
S: * OK {*}
C: a1 SELECT INBOX
S: a1 BAD Error in IMAP command received by server.
C: a2 NOOP
S: a2 OK NOOP completed.
C: a3 ID ("a" "b"
S: a3 BAD Missing ')'
C: a4 NOOP ((
S: a4 BAD Too many '('
# Junk after a literal's size: Dovecot has answered "+ OK" to a synchronizing one by then.
C: b1 LOGIN {5}x
S: + OK
S: b1 BAD Missing LF after literal size
C: b2 LOGIN {5+}x
S: b2 BAD Missing LF after literal size
C:
S: * BAD Error in IMAP command received by server.
C: a5 FETCH 1:* FLAGS
S: * BYE Too many invalid IMAP commands.
@eof
