# URLAUTH (RFC 4467) with URLAUTH=BINARY (RFC 5524), as Dovecot 2.3.19.1 answers the same
# conversation (recorded from the oracle with this configuration): GENURLAUTH and its
# errors, URLFETCH in the plain and the extended form (BODYPARTSTRUCTURE, BODY, BINARY with
# NULs as literal8, sections, PARTIAL, missing parts, decoded sizes in BODYPARTSTRUCTURE
# with BINARY), the reasons a URL fails, RESETKEY.
# The mailbox key is set through METADATA first (Dovecot allows that too), so the tokens
# are known in advance; they are the HMAC-SHA1 Dovecot computes.
@config mail_location = maildir:{root}/mail/%u
@config mail_attribute_dict = file:%h/dovecot-attributes
@config imap_metadata = yes
@config imap_urlauth_host = example.com
@connect imap
S: * OK [CAPABILITY {*}] Dovecot (Debian) ready.
C: t1 LOGIN alice secret
S: t1 OK [CAPABILITY {*} LITERAL+ NOTIFY URLAUTH URLAUTH=BINARY METADATA] Logged in
# The key, set through METADATA, makes the tokens known in advance (the value Dovecot made in a test).
C: t2 SETMETADATA INBOX (/private/vendor/vendor.dovecot/imap-urlauth "ac8a4e5c224c957d626277405bc26cb3d072d4f02a953d96079fd284b75381676ae803a384cb67ee30efb970b1eaea71b9b667346c8f623da99ef0eb51b77c5b")
S: t2 OK Setmetadata completed ({*} secs).
@send "t3 APPEND INBOX {32+}\r\nSubject: hi\r\nX: y\r\n\r\nhello world\r\n"
S: t3 OK [APPENDUID {*} 1] Append completed ({*} secs).
@send "t4 APPEND INBOX {225+}\r\nSubject: mp\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECaGVsbG8=\r\n--b\r\nContent-Type: text/plain\r\n\r\ntwo\r\nlines\r\n--b--\r\n\r\n"
S: t4 OK [APPENDUID {*} 2] Append completed ({*} secs).
@send "t5 APPEND INBOX {156+}\r\nSubject: qp\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nline one=\r\n continues=3D\r\nline two\r\n\r\n"
S: t5 OK [APPENDUID {*} 3] Append completed ({*} secs).
C: t6 CREATE Other
S: t6 OK Create completed ({*} secs).
# GENURLAUTH: several rump URLs at once; the mechanism is written in lower case.
C: t7 GENURLAUTH "imap://alice@example.com/INBOX/;UID=1;URLAUTH=user+bob" INTERNAL "imap://alice@example.com/INBOX/;UID=2/;SECTION=2;URLAUTH=anonymous" internal
S: * GENURLAUTH imap://alice@example.com/INBOX/;UID=1;URLAUTH=user+bob:internal:0107f999a4f060ca1819f885a6adfc000cd9e065d3 imap://alice@example.com/INBOX/;UID=2/;SECTION=2;URLAUTH=anonymous:internal:01b175719a8c55d429a8c6aad99186034825661b47
S: t7 OK GENURLAUTH completed ({*} secs).
C: t8 GENURLAUTH
S: * GENURLAUTH
S: t8 OK GENURLAUTH completed ({*} secs).
C: t9 GENURLAUTH "imap://alice@example.com/INBOX/;UID=1;URLAUTH=anonymous" FOO
S: t9 BAD Error in IMAP command GENURLAUTH: Unsupported URLAUTH mechanism: FOO ({*} secs).
C: t10 GENURLAUTH "imap://alice@example.com/INBOX/;UID=1" INTERNAL
S: t10 BAD Error in IMAP command GENURLAUTH: Invalid URL: Must be an URLAUTH rump URL ({*} secs).
C: t11 GENURLAUTH "imap://alice@example.com/INBOX/;UID=1;URLAUTH=anonymous:internal:0107f999a4f060ca1819f885a6adfc000cd9e065d3" INTERNAL
S: t11 BAD Error in IMAP command GENURLAUTH: Invalid URL: Must be an URLAUTH rump URL ({*} secs).
C: t12 GENURLAUTH "imap://example.com/INBOX/;UID=1;URLAUTH=anonymous" INTERNAL
S: t12 BAD Error in IMAP command GENURLAUTH: Invalid URL: Missing user name ({*} secs).
C: t13 GENURLAUTH "imap://bob@example.com/INBOX/;UID=1;URLAUTH=anonymous" INTERNAL
S: t13 BAD Error in IMAP command GENURLAUTH: Not permitted to generate URLAUTH for user bob ({*} secs).
C: t14 GENURLAUTH "imap://alice@example.org/INBOX/;UID=1;URLAUTH=anonymous" INTERNAL
S: t14 BAD Error in IMAP command GENURLAUTH: Invalid URL: Inappropriate host name ({*} secs).
C: t15 GENURLAUTH "imap://alice@example.com:144/INBOX/;UID=1;URLAUTH=anonymous" INTERNAL
S: t15 BAD Error in IMAP command GENURLAUTH: Invalid URL: Inappropriate server port ({*} secs).
C: t16 GENURLAUTH "imap://alice@example.com:143/INBOX/;UID=1;URLAUTH=anonymous" INTERNAL
S: * GENURLAUTH imap://alice@example.com:143/INBOX/;UID=1;URLAUTH=anonymous:internal:01431c2e5ef34e3edc121f03ca1cdc0a727a82da02
S: t16 OK GENURLAUTH completed ({*} secs).
C: t17 GENURLAUTH "imap://alice@example.com/INBOX/;UID=1;EXPIRE=2001-01-01T00:00:00Z;URLAUTH=anonymous" INTERNAL
S: t17 BAD Error in IMAP command GENURLAUTH: URLAUTH has already expired ({*} secs).
C: t18 GENURLAUTH "imap://alice@example.com/Nope/;UID=1;URLAUTH=anonymous" INTERNAL
S: t18 BAD Error in IMAP command GENURLAUTH: Invalid URL: Mailbox doesn't exist: Nope ({*} secs).
C: t19 GENURLAUTH "imap://alice@example.com/INBOX;UIDVALIDITY=1/;UID=1;URLAUTH=anonymous" INTERNAL
S: t19 BAD Error in IMAP command GENURLAUTH: Invalid URL: Invalid UIDVALIDITY ({*} secs).
C: t20 GENURLAUTH "imap://alice@example.com/INBOX/;UID=9;URLAUTH=anonymous" INTERNAL
S: t20 BAD Error in IMAP command GENURLAUTH: Invalid URL: Message not found ({*} secs).
C: t21 GENURLAUTH "imap://alice@example.com/INBOX/;UID=1;URLAUTH=" INTERNAL
S: t21 BAD Error in IMAP command GENURLAUTH: Invalid URL: Missing URLAUTH access specifier ({*} secs).
C: t22 GENURLAUTH "imap://alice@example.com/INBOX/;UID=1;URLAUTH=anonymous" "INTERNAL"
S: t22 BAD Error in IMAP command GENURLAUTH: Invalid arguments ({*} secs).
C: t23 GENURLAUTH (x) INTERNAL
S: t23 BAD Error in IMAP command GENURLAUTH: Invalid arguments ({*} secs).
# URLFETCH: the data, or in the extended form what is asked.
C: t24 URLFETCH imap://alice@example.com/INBOX/;UID=1;URLAUTH=user+bob:internal:0107f999a4f060ca1819f885a6adfc000cd9e065d3
S: * URLFETCH imap://alice@example.com/INBOX/;UID=1;URLAUTH=user+bob:internal:0107f999a4f060ca1819f885a6adfc000cd9e065d3 {32}
S: Subject: hi
S: X: y
S: 
S: hello world
S: t24 OK URLFETCH completed ({*} secs).
C: t25 URLFETCH "imap://alice@example.com/INBOX/;UID=1;URLAUTH=authuser:internal:01b75dc1f75f1e5ba9fd9ffc6723fee09cb7cb3eb2" (imap://alice@example.com/INBOX/;UID=1;URLAUTH=anonymous:internal:01505ea67f6d05e4f9925852a101eeca98a623efe6)
S: * URLFETCH imap://alice@example.com/INBOX/;UID=1;URLAUTH=authuser:internal:01b75dc1f75f1e5ba9fd9ffc6723fee09cb7cb3eb2 {32}
S: Subject: hi
S: X: y
S: 
S: hello world
S: * URLFETCH imap://alice@example.com/INBOX/;UID=1;URLAUTH=anonymous:internal:01505ea67f6d05e4f9925852a101eeca98a623efe6 (BODY {32}
S: Subject: hi
S: X: y
S: 
S: hello world)
S: t25 OK URLFETCH completed ({*} secs).
C: t26 URLFETCH (imap://alice@example.com/INBOX/;UID=2;URLAUTH=anonymous:internal:01d8cf6ebd6f2cb44c3924cae08a84f52e67f64826 BODYPARTSTRUCTURE) (imap://alice@example.com/INBOX/;UID=2/;SECTION=2;URLAUTH=anonymous:internal:01b175719a8c55d429a8c6aad99186034825661b47 BODYPARTSTRUCTURE BODY) (imap://alice@example.com/INBOX/;UID=2/;SECTION=1;URLAUTH=anonymous:internal:0145222f733b9cbb9b9c8c5d0a3cf024c9f7d9cc95 BINARY)
S: * URLFETCH imap://alice@example.com/INBOX/;UID=2;URLAUTH=anonymous:internal:01d8cf6ebd6f2cb44c3924cae08a84f52e67f64826 (BODYPARTSTRUCTURE (("application" "octet-stream" NIL NIL NIL "base64" 12 NIL NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 1 NIL NIL NIL NIL) "mixed" ("boundary" "b") NIL NIL NIL))
S: * URLFETCH imap://alice@example.com/INBOX/;UID=2/;SECTION=2;URLAUTH=anonymous:internal:01b175719a8c55d429a8c6aad99186034825661b47 (BODYPARTSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 1 NIL NIL NIL NIL) BODY {10}
S: two
S: lines)
S: * URLFETCH imap://alice@example.com/INBOX/;UID=2/;SECTION=1;URLAUTH=anonymous:internal:0145222f733b9cbb9b9c8c5d0a3cf024c9f7d9cc95 (BINARY ~{8}
S: \x00\x01\x02hello)
S: t26 OK URLFETCH completed ({*} secs).
C: t27 URLFETCH (imap://alice@example.com/INBOX/;UID=2/;SECTION=1;URLAUTH=anonymous:internal:0145222f733b9cbb9b9c8c5d0a3cf024c9f7d9cc95 BODY) (imap://alice@example.com/INBOX/;UID=1/;SECTION=TEXT;URLAUTH=anonymous:internal:01eff2b9e57d68cf5e4c38650952887767c10f16c0 binary bodypartstructure)
S: * URLFETCH imap://alice@example.com/INBOX/;UID=2/;SECTION=1;URLAUTH=anonymous:internal:0145222f733b9cbb9b9c8c5d0a3cf024c9f7d9cc95 (BODY {12}
S: AAECaGVsbG8=)
S: * URLFETCH imap://alice@example.com/INBOX/;UID=1/;SECTION=TEXT;URLAUTH=anonymous:internal:01eff2b9e57d68cf5e4c38650952887767c10f16c0 (BODYPARTSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 11 0 NIL NIL NIL NIL) BINARY {11}
S: hello world)
S: t27 OK URLFETCH completed ({*} secs).
C: t28 URLFETCH imap://alice@example.com/INBOX/;UID=1/;PARTIAL=9.5;URLAUTH=anonymous:internal:01aa0bc3f7811099e26320e18fdac76c3e2e278837 imap://alice@example.com/INBOX/;UID=2/;SECTION=2.MIME;URLAUTH=anonymous:internal:013f82c766edca18d31f93e4e4a009de876cf75b70
S: * URLFETCH imap://alice@example.com/INBOX/;UID=1/;PARTIAL=9.5;URLAUTH=anonymous:internal:01aa0bc3f7811099e26320e18fdac76c3e2e278837 {5}
S: hi
S: X
S: * URLFETCH imap://alice@example.com/INBOX/;UID=2/;SECTION=2.MIME;URLAUTH=anonymous:internal:013f82c766edca18d31f93e4e4a009de876cf75b70 {28}
S: Content-Type: text/plain
S: 
S: 
S: t28 OK URLFETCH completed ({*} secs).
C: t29 URLFETCH (imap://alice@example.com/INBOX/;UID=2/;SECTION=5;URLAUTH=anonymous:internal:0137ecc55a9283f7406b33e3206650ec273e183a43 BODYPARTSTRUCTURE) imap://alice@example.com/INBOX/;UID=2/;SECTION=5;URLAUTH=anonymous:internal:0137ecc55a9283f7406b33e3206650ec273e183a43
S: * URLFETCH imap://alice@example.com/INBOX/;UID=2/;SECTION=5;URLAUTH=anonymous:internal:0137ecc55a9283f7406b33e3206650ec273e183a43 NIL
S: * NO Failed to read URLAUTH "imap://alice@example.com/INBOX/;UID=2/;SECTION=5;URLAUTH=anonymous:internal:0137ecc55a9283f7406b33e3206650ec273e183a43": Message part not found.
S: * URLFETCH imap://alice@example.com/INBOX/;UID=2/;SECTION=5;URLAUTH=anonymous:internal:0137ecc55a9283f7406b33e3206650ec273e183a43 {0}
S: 
S: t29 OK URLFETCH completed ({*} secs).
# BODYPARTSTRUCTURE with BINARY: the decoded sizes; a decoded part has 0 lines (Dovecot 2.3 never counts them).
C: t30 URLFETCH (imap://alice@example.com/INBOX/;UID=2;URLAUTH=anonymous:internal:01d8cf6ebd6f2cb44c3924cae08a84f52e67f64826 BODYPARTSTRUCTURE BINARY) (imap://alice@example.com/INBOX/;UID=2/;SECTION=1;URLAUTH=anonymous:internal:0145222f733b9cbb9b9c8c5d0a3cf024c9f7d9cc95 BODYPARTSTRUCTURE BINARY) (imap://alice@example.com/INBOX/;UID=3;URLAUTH=anonymous:internal:0160202ee72a9e4675b67e6aa42c2a0fefe9577a78 BODYPARTSTRUCTURE BINARY) (imap://alice@example.com/INBOX/;UID=3/;SECTION=1;URLAUTH=anonymous:internal:01f74aa4e88660a56d7d48b0a886d7c9a3bb7307bc BODYPARTSTRUCTURE BINARY)
S: * URLFETCH imap://alice@example.com/INBOX/;UID=2;URLAUTH=anonymous:internal:01d8cf6ebd6f2cb44c3924cae08a84f52e67f64826 (BODYPARTSTRUCTURE (("application" "octet-stream" NIL NIL NIL "base64" 8 NIL NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 1 NIL NIL NIL NIL) "mixed" ("boundary" "b") NIL NIL NIL) BINARY ~{221}
S: Subject: mp
S: MIME-Version: 1.0
S: Content-Type: multipart/mixed; boundary=b
S: 
S: --b
S: Content-Type: application/octet-stream
S: Content-Transfer-Encoding: binary
S: 
S: \x00\x01\x02hello
S: --b
S: Content-Type: text/plain
S: 
S: two
S: lines
S: --b--
S: )
S: * URLFETCH imap://alice@example.com/INBOX/;UID=2/;SECTION=1;URLAUTH=anonymous:internal:0145222f733b9cbb9b9c8c5d0a3cf024c9f7d9cc95 (BODYPARTSTRUCTURE ("application" "octet-stream" NIL NIL NIL "base64" 8 NIL NIL NIL NIL) BINARY ~{8}
S: \x00\x01\x02hello)
S: * URLFETCH imap://alice@example.com/INBOX/;UID=3;URLAUTH=anonymous:internal:0160202ee72a9e4675b67e6aa42c2a0fefe9577a78 (BODYPARTSTRUCTURE ("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 31 0 NIL NIL NIL NIL) BINARY ~{141}
S: Subject: qp
S: MIME-Version: 1.0
S: Content-Type: text/plain; charset=utf-8
S: Content-Transfer-Encoding: binary
S: 
S: line one continues=
S: line two
S: )
S: * URLFETCH imap://alice@example.com/INBOX/;UID=3/;SECTION=1;URLAUTH=anonymous:internal:01f74aa4e88660a56d7d48b0a886d7c9a3bb7307bc (BODYPARTSTRUCTURE ("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 31 0 NIL NIL NIL NIL) BINARY ~{31}
S: line one continues=
S: line two
S: )
S: t30 OK URLFETCH completed ({*} secs).
C: t31 URLFETCH (imap://alice@example.com/INBOX/;UID=2/;SECTION=2;URLAUTH=anonymous:internal:01b175719a8c55d429a8c6aad99186034825661b47 BODYPARTSTRUCTURE BINARY) (imap://alice@example.com/INBOX/;UID=3/;SECTION=TEXT;URLAUTH=anonymous:internal:0171543968b21d0482d0afd518e82880655e2b1f9f BODYPARTSTRUCTURE)
S: * URLFETCH imap://alice@example.com/INBOX/;UID=2/;SECTION=2;URLAUTH=anonymous:internal:01b175719a8c55d429a8c6aad99186034825661b47 (BODYPARTSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 1 NIL NIL NIL NIL) BINARY {10}
S: two
S: lines)
S: * URLFETCH imap://alice@example.com/INBOX/;UID=3/;SECTION=TEXT;URLAUTH=anonymous:internal:0171543968b21d0482d0afd518e82880655e2b1f9f (BODYPARTSTRUCTURE ("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 36 3 NIL NIL NIL NIL))
S: t31 OK URLFETCH completed ({*} secs).
# The whole message after its BODYPARTSTRUCTURE: literal8 even without NULs (Dovecot's
# binary cache says so).
C: t31b URLFETCH (imap://alice@example.com/INBOX/;UID=1;URLAUTH=anonymous:internal:01505ea67f6d05e4f9925852a101eeca98a623efe6 BODYPARTSTRUCTURE BINARY)
S: * URLFETCH imap://alice@example.com/INBOX/;UID=1;URLAUTH=anonymous:internal:01505ea67f6d05e4f9925852a101eeca98a623efe6 (BODYPARTSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 11 0 NIL NIL NIL NIL) BINARY ~{32}
S: Subject: hi
S: X: y
S: 
S: hello world)
S: t31b OK URLFETCH completed ({*} secs).
# Failures: NIL and why.
C: t32 URLFETCH imap://alice@example.com/INBOX/;UID=1;URLAUTH=authuser:internal:01b75dc1f75f1e5ba9fd9ffc6723fee09cb7cb3eb0
S: * URLFETCH imap://alice@example.com/INBOX/;UID=1;URLAUTH=authuser:internal:01b75dc1f75f1e5ba9fd9ffc6723fee09cb7cb3eb0 NIL
S: * NO Failed to fetch URLAUTH "imap://alice@example.com/INBOX/;UID=1;URLAUTH=authuser:internal:01b75dc1f75f1e5ba9fd9ffc6723fee09cb7cb3eb0": URLAUTH verification failed.
S: t32 OK URLFETCH completed ({*} secs).
C: t33 URLFETCH imap://alice@example.com/INBOX/;UID=9;URLAUTH=anonymous:internal:01c10602c5def236260d6cec59a2f3a137b16459bf
S: * URLFETCH imap://alice@example.com/INBOX/;UID=9;URLAUTH=anonymous:internal:01c10602c5def236260d6cec59a2f3a137b16459bf NIL
S: * NO Failed to read URLAUTH "imap://alice@example.com/INBOX/;UID=9;URLAUTH=anonymous:internal:01c10602c5def236260d6cec59a2f3a137b16459bf": Message not found.
S: t33 OK URLFETCH completed ({*} secs).
C: t34 URLFETCH imap://alice@example.com/Nope/;UID=1;URLAUTH=anonymous:internal:0103e757aa9d25d5d246145f5c918a3615784573cb
S: * URLFETCH imap://alice@example.com/Nope/;UID=1;URLAUTH=anonymous:internal:0103e757aa9d25d5d246145f5c918a3615784573cb NIL
S: * NO Failed to fetch URLAUTH "imap://alice@example.com/Nope/;UID=1;URLAUTH=anonymous:internal:0103e757aa9d25d5d246145f5c918a3615784573cb": Invalid URLAUTH: Mailbox doesn't exist: Nope.
S: t34 OK URLFETCH completed ({*} secs).
C: t35 URLFETCH imap://alice@example.com/Other/;UID=1;URLAUTH=anonymous:internal:01f0d9e593e15c9e605901cf5fd4e65658ca4bad51
S: * URLFETCH imap://alice@example.com/Other/;UID=1;URLAUTH=anonymous:internal:01f0d9e593e15c9e605901cf5fd4e65658ca4bad51 NIL
S: * NO Failed to fetch URLAUTH "imap://alice@example.com/Other/;UID=1;URLAUTH=anonymous:internal:01f0d9e593e15c9e605901cf5fd4e65658ca4bad51": URLAUTH verification failed.
S: t35 OK URLFETCH completed ({*} secs).
C: t36 URLFETCH imap://alice@example.com/INBOX;UIDVALIDITY=1/;UID=1;URLAUTH=anonymous:internal:01d68ab6f36edcc143d42c8c66d1f0ded1852f64fb
S: * URLFETCH imap://alice@example.com/INBOX;UIDVALIDITY=1/;UID=1;URLAUTH=anonymous:internal:01d68ab6f36edcc143d42c8c66d1f0ded1852f64fb NIL
S: * NO Failed to fetch URLAUTH "imap://alice@example.com/INBOX;UIDVALIDITY=1/;UID=1;URLAUTH=anonymous:internal:01d68ab6f36edcc143d42c8c66d1f0ded1852f64fb": Invalid URLAUTH: Invalid UIDVALIDITY.
S: t36 OK URLFETCH completed ({*} secs).
C: t37 URLFETCH imap://alice@example.com/INBOX/;UID=1;EXPIRE=2001-01-01T00:00:00Z;URLAUTH=anonymous:internal:0146804b363485773065d2cd80f6cac51b54bebe0c
S: * URLFETCH imap://alice@example.com/INBOX/;UID=1;EXPIRE=2001-01-01T00:00:00Z;URLAUTH=anonymous:internal:0146804b363485773065d2cd80f6cac51b54bebe0c NIL
S: * NO Failed to fetch URLAUTH "imap://alice@example.com/INBOX/;UID=1;EXPIRE=2001-01-01T00:00:00Z;URLAUTH=anonymous:internal:0146804b363485773065d2cd80f6cac51b54bebe0c": URLAUTH has expired.
S: t37 OK URLFETCH completed ({*} secs).
C: t38 URLFETCH imap://alice@example.com/INBOX/;UID=1;EXPIRE=2099-01-01T00:00:00Z;URLAUTH=anonymous:internal:0181df3bcaaff573c280c65333f4bec5dba8050182
S: * URLFETCH imap://alice@example.com/INBOX/;UID=1;EXPIRE=2099-01-01T00:00:00Z;URLAUTH=anonymous:internal:0181df3bcaaff573c280c65333f4bec5dba8050182 {32}
S: Subject: hi
S: X: y
S: 
S: hello world
S: t38 OK URLFETCH completed ({*} secs).
C: t39 URLFETCH imap://alice@example.com/INBOX/;UID=1;URLAUTH=submit+alice:internal:016c9f7c3c97c6663f02a2275e7dbcc084b1bb514f
S: * URLFETCH imap://alice@example.com/INBOX/;UID=1;URLAUTH=submit+alice:internal:016c9f7c3c97c6663f02a2275e7dbcc084b1bb514f NIL
S: * NO Failed to fetch URLAUTH "imap://alice@example.com/INBOX/;UID=1;URLAUTH=submit+alice:internal:016c9f7c3c97c6663f02a2275e7dbcc084b1bb514f": No 'submit+alice' access allowed for user alice.
S: t39 OK URLFETCH completed ({*} secs).
C: t40 URLFETCH imap://alice@example.com/INBOX/;UID=1;URLAUTH=user:internal:016764604857ddd7e0b7878b165defc08627786002
S: * URLFETCH imap://alice@example.com/INBOX/;UID=1;URLAUTH=user:internal:016764604857ddd7e0b7878b165defc08627786002 NIL
S: * NO Failed to fetch URLAUTH "imap://alice@example.com/INBOX/;UID=1;URLAUTH=user:internal:016764604857ddd7e0b7878b165defc08627786002": URLAUTH `user' access is missing userid.
S: t40 OK URLFETCH completed ({*} secs).
C: t41 URLFETCH imap://alice@example.org/INBOX/;UID=1;URLAUTH=anonymous:internal:01e5ac3bed3dc6946ff105835d140003bb9e493cad
S: * URLFETCH imap://alice@example.org/INBOX/;UID=1;URLAUTH=anonymous:internal:01e5ac3bed3dc6946ff105835d140003bb9e493cad NIL
S: * NO Failed to fetch URLAUTH "imap://alice@example.org/INBOX/;UID=1;URLAUTH=anonymous:internal:01e5ac3bed3dc6946ff105835d140003bb9e493cad": Invalid URL: Inappropriate host name.
S: t41 OK URLFETCH completed ({*} secs).
C: t42 URLFETCH imap://example.com/INBOX/;UID=1;URLAUTH=anonymous:internal:011bd5217f243c5dd72e568600f229fcfbbf8f7e26
S: * URLFETCH imap://example.com/INBOX/;UID=1;URLAUTH=anonymous:internal:011bd5217f243c5dd72e568600f229fcfbbf8f7e26 NIL
S: * NO Failed to fetch URLAUTH "imap://example.com/INBOX/;UID=1;URLAUTH=anonymous:internal:011bd5217f243c5dd72e568600f229fcfbbf8f7e26": Invalid URLAUTH: Missing user name.
S: t42 OK URLFETCH completed ({*} secs).
C: t43 URLFETCH imap://alice@example.com/INBOX/;UID=1;URLAUTH=anonymous
S: * URLFETCH imap://alice@example.com/INBOX/;UID=1;URLAUTH=anonymous NIL
S: * NO Failed to fetch URLAUTH "imap://alice@example.com/INBOX/;UID=1;URLAUTH=anonymous": Invalid URL: Must be a full URLAUTH URL.
S: t43 OK URLFETCH completed ({*} secs).
C: t44 URLFETCH imap://alice@example.com/INBOX/;UID=1;URLAUTH=anonymous:foo:0107f999a4f060ca1819f885a6adfc000cd9e065d3
S: * URLFETCH imap://alice@example.com/INBOX/;UID=1;URLAUTH=anonymous:foo:0107f999a4f060ca1819f885a6adfc000cd9e065d3 NIL
S: * NO Failed to fetch URLAUTH "imap://alice@example.com/INBOX/;UID=1;URLAUTH=anonymous:foo:0107f999a4f060ca1819f885a6adfc000cd9e065d3": Unsupported URLAUTH mechanism: foo.
S: t44 OK URLFETCH completed ({*} secs).
C: t45 URLFETCH foo
S: * URLFETCH foo NIL
S: * NO Failed to fetch URLAUTH "foo": Relative URL not allowed.
S: t45 OK URLFETCH completed ({*} secs).
# Another user's URL goes to the owner's imap-urlauth worker, which refuses an access id
# the asking user does not have and says why (from Dovecot's imap-urlauth-worker.c and
# imap_urlauth_check_access: Dovecot 2.3.19.1's own imap-urlauth-login asserts on its
# token login, so this line is not recorded from it).
C: t46 URLFETCH "imap://bob@example.com/INBOX/;UID=1;URLAUTH=submit+x:internal:0107f999a4f060ca1819f885a6adfc000cd9e065d3"
S: * URLFETCH imap://bob@example.com/INBOX/;UID=1;URLAUTH=submit+x:internal:0107f999a4f060ca1819f885a6adfc000cd9e065d3 NIL
S: * NO Failed to fetch URLAUTH "imap://bob@example.com/INBOX/;UID=1;URLAUTH=submit+x:internal:0107f999a4f060ca1819f885a6adfc000cd9e065d3": No 'submit+x' access allowed for user alice.
S: t46 OK URLFETCH completed ({*} secs).
C: t47 URLFETCH
S: t47 BAD Error in IMAP command URLFETCH: Invalid arguments ({*} secs).
C: t48 URLFETCH ()
S: t48 BAD Error in IMAP command URLFETCH: Invalid arguments ({*} secs).
C: t49 URLFETCH (foo "BODY")
S: t49 BAD Error in IMAP command URLFETCH: Invalid URL fetch parameter ({*} secs).
C: t50 URLFETCH (foo FOO)
S: t50 BAD Error in IMAP command URLFETCH: Unknown URL fetch parameter: FOO ({*} secs).
C: t51 URLFETCH (foo BODY BINARY)
S: t51 BAD Error in IMAP command URLFETCH: URL cannot have both BODY and BINARY fetch parameters ({*} secs).
# RESETKEY
C: t52 RESETKEY INBOX FOO
S: t52 NO Unsupported URLAUTH mechanism ({*} secs).
C: t53 RESETKEY INBOX (x)
S: t53 BAD Error in IMAP command RESETKEY: Invalid arguments ({*} secs).
C: t54 RESETKEY Nope
S: t54 NO Mailbox doesn't exist: Nope ({*} secs).
C: t55 RESETKEY INBOX internal
S: t55 OK [URLMECH INTERNAL] Key removed ({*} secs).
C: t56 URLFETCH imap://alice@example.com/INBOX/;UID=1;URLAUTH=user+bob:internal:0107f999a4f060ca1819f885a6adfc000cd9e065d3
S: * URLFETCH imap://alice@example.com/INBOX/;UID=1;URLAUTH=user+bob:internal:0107f999a4f060ca1819f885a6adfc000cd9e065d3 NIL
S: * NO Failed to fetch URLAUTH "imap://alice@example.com/INBOX/;UID=1;URLAUTH=user+bob:internal:0107f999a4f060ca1819f885a6adfc000cd9e065d3": URLAUTH verification failed.
S: t56 OK URLFETCH completed ({*} secs).
C: t57 GETMETADATA INBOX /private/vendor/vendor.dovecot/imap-urlauth
S: * METADATA INBOX (/private/vendor/vendor.dovecot/imap-urlauth NIL)
S: t57 OK Getmetadata completed ({*} secs).
C: t58 SETMETADATA INBOX (/private/vendor/vendor.dovecot/imap-urlauth "ac8a4e5c224c957d626277405bc26cb3d072d4f02a953d96079fd284b75381676ae803a384cb67ee30efb970b1eaea71b9b667346c8f623da99ef0eb51b77c5b")
S: t58 OK Setmetadata completed ({*} secs).
C: t59 RESETKEY
S: t59 OK All keys removed ({*} secs).
C: t60 URLFETCH imap://alice@example.com/INBOX/;UID=1;URLAUTH=user+bob:internal:0107f999a4f060ca1819f885a6adfc000cd9e065d3
S: * URLFETCH imap://alice@example.com/INBOX/;UID=1;URLAUTH=user+bob:internal:0107f999a4f060ca1819f885a6adfc000cd9e065d3 NIL
S: * NO Failed to fetch URLAUTH "imap://alice@example.com/INBOX/;UID=1;URLAUTH=user+bob:internal:0107f999a4f060ca1819f885a6adfc000cd9e065d3": URLAUTH verification failed.
S: t60 OK URLFETCH completed ({*} secs).
C: t61 RESETKEY Other
S: t61 OK [URLMECH INTERNAL] Key removed ({*} secs).
C: t62 LOGOUT
S: * BYE Logging out
S: t62 OK Logout completed ({*} secs).
