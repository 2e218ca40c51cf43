# NUL bytes, invalid UTF-8 and a 1 MB line: a clear answer, never a crash; other sessions
# are untouched.
@connect imap one
S: * OK {*}
@connect imap two
S: * OK {*}
@use one
@send "a1 NOOP \x00\r\n"
S: a1 BAD Invalid characters in atom
@send "a2 ID (\"name\" \"\xff\xfe\")\r\n"
S: * ID ("name" "cote")
S: a2 OK ID completed.
@send "a3 NOOP "
@repeat 1048576 "x"
@send "\r\n"
S: * BYE Input buffer full, aborting
@eof
@use two
C: b1 NOOP
S: b1 OK NOOP completed.
# A client that disconnects in the middle of a line.
@connect imap three
S: * OK {*}
@send "c1 NOO"
@close
@use two
C: b2 LOGOUT
S: * BYE Logging out
S: b2 OK Logout completed.
@eof
