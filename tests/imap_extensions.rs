//! IMAP extensions end to end against a real `cote -F`, driven by Python's imaplib as a mail
//! client would: COMPRESS=DEFLATE (RFC 4978) over plain TCP and over TLS, with IDLE's updates
//! arriving compressed while the client waits; CATENATE with URL-PARTIAL (RFC 4469, 5550)
//! and I18NLEVEL=1's SEARCH (RFC 5255); IMAP4rev2 (RFC 9051) after ENABLE.

mod login_support;

use login_support::{assert_lines_start, python, Server};

/// imaplib has no COMPRESS: this client deflates what it sends and inflates what it reads
/// once the server said OK (raw deflate, sync-flushed per command, as RFC 4978 clients do).
/// Arguments: port, "tls" or "plain", the message size to round-trip.
const COMPRESS_CLIENT: &str = r#"
import imaplib, ssl, sys, zlib, socket

imaplib.Commands['COMPRESS'] = ('AUTH', 'SELECTED')
imaplib.Commands['IDLE'] = ('AUTH', 'SELECTED')

class Deflated(imaplib.IMAP4_SSL if sys.argv[2] == 'tls' else imaplib.IMAP4):
    zin = None

    def compress(self):
        typ, data = self._simple_command('COMPRESS', 'DEFLATE')
        if typ == 'OK':
            self.zin = zlib.decompressobj(-15)
            self.zout = zlib.compressobj(6, zlib.DEFLATED, -15)
            self.zbuf = b''
        return typ, data

    def send(self, data):
        if self.zin is not None:
            data = self.zout.compress(data) + self.zout.flush(zlib.Z_SYNC_FLUSH)
        super().send(data)

    def _fill(self):
        chunk = self.file.read1(65536)
        if not chunk:
            raise imaplib.IMAP4.abort('EOF on the compressed stream')
        self.zbuf += self.zin.decompress(chunk)

    def read(self, size):
        if self.zin is None:
            return super().read(size)
        while len(self.zbuf) < size:
            self._fill()
        data, self.zbuf = self.zbuf[:size], self.zbuf[size:]
        return data

    def readline(self):
        if self.zin is None:
            return super().readline()
        while b'\n' not in self.zbuf:
            self._fill()
        line, self.zbuf = self.zbuf.split(b'\n', 1)
        return line + b'\n'

port = int(sys.argv[1])
tls = sys.argv[2] == 'tls'
size = int(sys.argv[3])
if tls:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    m = Deflated('127.0.0.1', port, ssl_context=ctx)
else:
    m = Deflated('127.0.0.1', port)
m.sock.settimeout(10)
m.login('alice', 'secret')
print('advertised', b'COMPRESS=DEFLATE' in m.capability()[1][0].split())
print('compress', m.compress()[0])
print('again', m.compress())
print('select', m.select('INBOX')[0])
body = (b'0123456789abcdef' * (size // 16 + 1))[:size]
msg = b'Subject: big\r\n\r\n' + body + b'\r\n'
print('append', m.append('INBOX', None, None, msg)[0])
typ, data = m.fetch('1', '(BODY.PEEK[])')
print('roundtrip', typ, data[0][1] == msg)

# IDLE: another session's APPEND must arrive without the client sending anything.
tag = m._new_tag()
m.send(tag + b' IDLE\r\n')
print('idle', m.readline().strip())
other = imaplib.IMAP4('127.0.0.1', int(sys.argv[4]))
other.login('alice', 'secret')
other.append('INBOX', None, None, b'Subject: second\r\n\r\nx\r\n')
other.logout()
print('update', m.readline().strip())
m.send(b'DONE\r\n')
while True:
    line = m.readline()
    if line.startswith(tag):
        print('done', line.split()[1])
        break
print('logout', m.logout()[0])
"#;

fn compress_session(tls: bool, size: usize) {
    let server = Server::start("protocol imap {\n  mail_plugins = $mail_plugins imap_zlib\n}\n");
    let port = if tls { server.imaps } else { server.imap };
    let out = python(
        COMPRESS_CLIENT,
        &[
            port.to_string(),
            (if tls { "tls" } else { "plain" }).to_string(),
            size.to_string(),
            server.imap.to_string(),
        ],
    );
    let expect = [
        "advertised True",
        "compress OK",
        "again ('NO', [b'[COMPRESSIONACTIVE] COMPRESSION=DEFLATE already enabled",
        "select OK",
        "append OK",
        "roundtrip OK True",
        "idle b'+ idling'",
        "update b'* 2 EXISTS'",
        "done b'OK'",
        "logout BYE",
    ];
    assert_lines_start(&out, &expect, &server);
}

#[test]
fn python_compress_over_plain_tcp() {
    compress_session(false, 300_000);
}

#[test]
fn python_compress_inside_tls() {
    compress_session(true, 300_000);
}

#[test]
fn compress_is_not_offered_without_imap_zlib() {
    let server = Server::start("");
    let out = python(
        r#"
import imaplib, sys
imaplib.Commands['COMPRESS'] = ('AUTH', 'SELECTED')
m = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
m.login('alice', 'secret')
print('advertised', b'COMPRESS=DEFLATE' in m.capability()[1][0].split())
try:
    m._simple_command('COMPRESS', 'DEFLATE')
except imaplib.IMAP4.error as e:
    print('refused', e)
"#,
        &[server.imap.to_string()],
    );
    assert!(out.contains("advertised False"), "{out}");
    assert!(
        out.contains("refused COMPRESS command error: BAD [b'Error in IMAP command COMPRESS: Unknown command ("),
        "{out}"
    );
}

/// imaplib has no CATENATE: URL-only messages go as one argument, as a client without the
/// extension's support can still send them. The answers are Dovecot 2.3.19.1's (checked with
/// the same script against a private Dovecot).
const CATENATE_CLIENT: &str = r#"
import imaplib, sys
m = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
m.login('alice', 'secret')
caps = m.capability()[1][0].split()
print('advertised', all(c in caps for c in (b'CATENATE', b'URL-PARTIAL', b'I18NLEVEL=1')))
m.create('Cat')
msg = 'Subject: =?UTF-8?Q?=C3=A9t=C3=A9?=\r\n\r\nthe body text\r\n'.encode()
print('append', m.append('Cat', None, None, msg)[0])
print('select', m.select('Cat')[0])
# CATENATE of URL parts only: imaplib sends one argument as it is.
typ, data = m._simple_command(
    'APPEND', 'Cat', 'CATENATE',
    '(URL ";UID=1/;SECTION=TEXT/;PARTIAL=4.4" URL "/Cat/;UID=1/;SECTION=HEADER")')
print('catenate', typ, data[0].split(b']')[0].split()[-1])
typ, data = m.uid('FETCH', '2', '(BODY.PEEK[])')
print('composed', data[0][1])
typ, data = m._simple_command('APPEND', 'Cat', 'CATENATE', '(URL ";UID=9")')
print('badurl', typ, data)
typ, data = m._simple_command(
    'APPEND', 'Cat', 'CATENATE', '(URL "/Cat/;UID=1" URL "imap://x/Cat/;UID=1")')
print('absolute', typ, data)
# I18NLEVEL=1: the search key as a literal in UTF-8, matched without case or accents.
m.literal = 'ÉTÉ'.encode()
print('search', m.search('UTF-8', 'SUBJECT'))
m.literal = 'ete'.encode()
print('search plain', m.search('UTF-8', 'SUBJECT'))
print('logout', m.logout()[0])
"#;

#[test]
fn python_catenate_and_utf8_search() {
    let server = Server::start("");
    let out = python(CATENATE_CLIENT, &[server.imap.to_string()]);
    let expect = [
        "advertised True",
        "append OK",
        "select OK",
        "catenate OK b'2'",
        r"composed b'bodySubject: =?UTF-8?Q?=C3=A9t=C3=A9?=\r\n\r\n'",
        "badurl NO [b'[BADURL ;UID=9] Message not found (",
        "absolute NO [b'[BADURL imap://x/Cat/;UID=1] Invalid IMAP URL: Relative URL required (",
        "search ('OK', [b'1'])",
        "search plain ('OK', [b''])",
        "logout BYE",
    ];
    assert_lines_start(&out, &expect, &server);
}

/// An IMAP4rev2 client with imaplib: ENABLE IMAP4rev2, then UTF-8 mailbox names, STATUS DELETED, SELECT with its LIST response and
/// without RECENT, ESEARCH for SEARCH, no `\Recent` in FLAGS.
const REV2_CLIENT: &str = r#"
import imaplib, sys
m = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
print('greeting', m.capabilities[:2])
m.login('alice', 'secret')
typ, data = m.enable('IMAP4rev2')
print('enable', typ, m.untagged_responses.pop('ENABLED', None))
# UTF-8 arguments; not imaplib's UTF8=ACCEPT mode, whose APPEND wraps the message in
# `UTF8 (...)` inside the literal.
m._encoding = 'utf-8'
print('create', m.create('"Über"')[0])
msg = b'Subject: hi\r\n\r\nbody\r\n'
print('append', m.append('"Über"', '(\\Deleted)', None, msg)[0])
print('append', m.append('"Über"', None, None, msg)[0])
typ, data = m.list('""', '"Üb*"')
print('list', ' | '.join(d.decode() for d in data))
typ, data = m.status('"Über"', '(MESSAGES DELETED SIZE)')
print('status', ' | '.join(d.decode() for d in data))
typ, data = m.select('"Über"')
print('select', typ, data)
print('recent', m.response('RECENT'))
print('selected list', ' | '.join(d.decode() for d in m.response('LIST')[1]))
typ, data = m._simple_command('SEARCH', 'DELETED')
print('esearch', typ, m._untagged_response(typ, data, 'ESEARCH'))
print('old search', m.response('SEARCH'))
typ, data = m.fetch('1:*', '(FLAGS)')
print('flags', ' | '.join(d.decode() for d in data))
print('logout', m.logout()[0])
"#;

#[test]
fn python_imap4rev2() {
    let server = Server::start("");
    let out = python(REV2_CLIENT, &[server.imap.to_string()]);
    let expect = [
        "greeting ('IMAP4REV1', 'IMAP4REV2')",
        "enable OK [b'IMAP4rev2']",
        "create OK",
        "append OK",
        r#"list (\HasNoChildren) "." "Über""#,
        r#"status "Über" (MESSAGES 2 DELETED 1 SIZE 42)"#,
        "select OK [b'2']",
        "recent ('RECENT', [None])",
        r#"selected list (\HasNoChildren) "." "Über""#,
        r#"esearch OK ('OK', [b'(TAG "#,
        "old search ('SEARCH', [None])",
        r"flags 1 (FLAGS (\Deleted)) | 2 (FLAGS ())",
        "logout BYE",
    ];
    assert_lines_start(&out, &expect, &server);
    assert!(out.contains(") ALL 1']"), "{out}");
}
