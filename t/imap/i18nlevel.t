# I18NLEVEL=1 (RFC 5255 §4.2-4.3): SEARCH (BCC, BODY, CC, FROM, SUBJECT, TEXT, TO, HEADER),
# SORT (CC, FROM, SUBJECT, TO) and THREAD's subject comparisons use i;unicode-casemap (RFC
# 5051) as Dovecot implements it: each character title-cased and decomposed, so case and
# diacritics match their base letters; SEARCH takes CHARSET UTF-8. Checked against Dovecot
# 2.3.19.1 (t/oracle/imap-transcript-check).
@connect imap
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: a LOGIN alice secret
S: a OK [CAPABILITY {*}] Logged in
C: b CREATE I18N
S: b OK Create completed ({*} secs).
@send "c1 APPEND I18N {233+}\r\nFrom: =?UTF-8?Q?Andr=C3=A9?= <andre@example.org>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nSubject: =?UTF-8?Q?=C3=A9t=C3=A9?=\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\ncaf\xc3\xa9 cr\xc3\xa8me\r\n\r\n"
S: c1 OK [APPENDUID {*} 1] Append completed ({*} secs).
@send "c2 APPEND I18N {199+}\r\nFrom: zed@example.org\r\nDate: Mon, 1 Jan 2024 11:00:00 +0000\r\nSubject: =?UTF-8?Q?=C3=89T=C3=89?=\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nCAF\xc3\x89\r\n\r\n"
S: c2 OK [APPENDUID {*} 2] Append completed ({*} secs).
@send "c3 APPEND I18N {176+}\r\nFrom: bob@example.org\r\nDate: Mon, 1 Jan 2024 09:00:00 +0000\r\nSubject: Ete\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\ncafe\r\n\r\n"
S: c3 OK [APPENDUID {*} 3] Append completed ({*} secs).
@send "c4 APPEND I18N {229+}\r\nFrom: =?UTF-8?B?w4lsaXNl?= <elise@example.org>\r\nDate: Mon, 1 Jan 2024 12:00:00 +0000\r\nSubject: Re: =?UTF-8?Q?=C3=A9t=C3=A9?=\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\xc7\x86emal\r\n\r\n"
S: c4 OK [APPENDUID {*} 4] Append completed ({*} secs).
@send "c5 APPEND I18N {198+}\r\nFrom: amy@example.org\r\nDate: Mon, 1 Jan 2024 08:00:00 +0000\r\nSubject: =?UTF-8?Q?=C7=84EMAL?=\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nStra\xc3\x9fe\r\n\r\n"
S: c5 OK [APPENDUID {*} 5] Append completed ({*} secs).
C: d SELECT I18N
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 5 EXISTS
S: * 5 RECENT
S: * OK [UNSEEN 1] First unseen.
S: * OK [UIDVALIDITY {*}] UIDs valid
S: * OK [UIDNEXT 6] Predicted next UID
S: d OK [READ-WRITE] Select completed ({*} secs).
# Case and diacritics: 'été' (é is E + U+0301 once decomposed) matches ÉTÉ, not Ete; a
# bare 'e' matches the base letter of é too.
@send "e1 SEARCH CHARSET UTF-8 SUBJECT {5+}\r\n\xc3\xa9t\xc3\xa9\r\n"
S: * SEARCH 1 2 4
S: e1 OK Search completed ({*} secs).
@send "e2 SEARCH CHARSET UTF-8 SUBJECT {1+}\r\nE\r\n"
S: * SEARCH 1 2 3 4 5
S: e2 OK Search completed ({*} secs).
@send "e3 SEARCH CHARSET UTF-8 SUBJECT {5+}\r\n\xc3\x89t\xc3\xa9\r\n"
S: * SEARCH 1 2 4
S: e3 OK Search completed ({*} secs).
# Title case: the dz digraph in any case (U+01C4, U+01C5, U+01C6).
@send "e4 SEARCH CHARSET UTF-8 SUBJECT {6+}\r\n\xc7\x85emal\r\n"
S: * SEARCH 5
S: e4 OK Search completed ({*} secs).
@send "e5 SEARCH CHARSET UTF-8 BODY {6+}\r\n\xc7\x84EMAL\r\n"
S: * SEARCH 4
S: e5 OK Search completed ({*} secs).
@send "e6 SEARCH CHARSET UTF-8 BODY {5+}\r\ncaf\xc3\xa9\r\n"
S: * SEARCH 1 2
S: e6 OK Search completed ({*} secs).
@send "e7 SEARCH CHARSET UTF-8 TEXT {6+}\r\nCR\xc3\x88ME\r\n"
S: * SEARCH 1
S: e7 OK Search completed ({*} secs).
@send "e8 SEARCH CHARSET UTF-8 FROM {6+}\r\nandr\xc3\x89\r\n"
S: * SEARCH 1
S: e8 OK Search completed ({*} secs).
@send "e9 SEARCH CHARSET UTF-8 HEADER FROM {6+}\r\n\xc3\xa9lise\r\n"
S: * SEARCH 4
S: e9 OK Search completed ({*} secs).
# SORT compares the normalised base subjects bytewise: plain E sorts before E + U+0301.
C: f SORT (SUBJECT) UTF-8 ALL
S: * SORT 3 1 2 4 5
S: f OK Sort completed ({*} secs).
# Display names: Andre + U+0301 and E + U+0301 + lise take their places among ASCII names.
C: g SORT (DISPLAYFROM) UTF-8 ALL
S: * SORT 5 1 3 4 2
S: g OK Sort completed ({*} secs).
# THREAD groups été, ÉTÉ and Re: été by their base subject; Ete stays apart.
C: h THREAD ORDEREDSUBJECT UTF-8 ALL
S: * THREAD (5)(3)(1 (2)(4))
S: h OK Thread completed ({*} secs).
C: i THREAD REFERENCES UTF-8 ALL
S: * THREAD (5)(3)((1)(2)(4))
S: i OK Thread completed ({*} secs).
C: j LOGOUT
S: * BYE Logging out
S: j OK Logout completed ({*} secs).
@eof
