//! A deterministic corpus of odd messages for the Dovecot differential test
//! (`tests/mail_oracle.rs`): the same [`generated`] list on every run, built by a fixed-seed
//! generator from pieces that real mail has and parsers stumble over — nested multiparts,
//! message/rfc822 parts, missing or unused boundaries, empty parts, preambles, encoded words,
//! RFC 2231 parameters, group and broken addresses, 8-bit bytes in headers and bodies,
//! folded and very long lines, broken header lines, odd line endings.
//!
//! Changing anything here changes the corpus: the snapshot of Dovecot's answers
//! (t/mail/generated.expected) must then be recorded again (COTE_MAIL_ORACLE_REGEN=1).

/// How many messages [`generated`] makes.
pub const COUNT: usize = 240;

/// xorshift64*: small, fixed, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const ADDRESSES: &[&str] = &[
    "alice@example.com",
    "Alice Example <alice@example.com>",
    "\"Example, Alice\" <alice@example.com>",
    "=?UTF-8?B?SsO2cmcgTcO8bGxlcg==?= <joerg@example.de>",
    "=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@example.dk>",
    "bob@example.org (Bob Comment)",
    "undisclosed-recipients:;",
    "team: carol@example.net, Dave <dave@example.net>;",
    "<@route.example,@other.example:eve@example.com>",
    "nobody",
    "@",
    "\"\" <empty@example.com>",
    "Frank <frank@[192.0.2.1]>",
    "a@b, c@d, \"E F\" <e@f>",
    "Grace =?utf-8?q?H=C3=B6pper?= <grace@example.com>",
    "\"quoted \\\" name\" <q@example.com>",
    "<>",
    "R\u{e4}w \u{dc}tf8 <raw@example.com>",
    "group: ;",
    "mixed: a@b; c@d",
    "user@example.com.",
    "very.long.local.part.with.many.dots@sub.domain.example.co.uk",
    "=?utf-8?b?broken <x@y>",
    "x@y (comment (nested) more)",
    "Name With Spaces <  spaced@example.com  >",
    "\"Joe Q. Public\" <john.q.public@example.com>, Mary Smith <mary@x.test>, jdoe@one.test",
    "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
    "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
    "incomplete <missing-end@example.com",
    "two@at@signs.example",
    "=?iso-8859-2?Q?Pawe=B3?= <pawel@example.pl>",
    "last: a@b,",
];

const SUBJECTS: &[&str] = &[
    "Hello world",
    "",
    "   leading and trailing   ",
    "=?UTF-8?B?w4TDlsOc?=",
    "=?ISO-8859-1?Q?caf=E9?= au lait",
    "=?utf-8?q?a?= =?utf-8?q?b?=",
    "Re: Fwd: [list] thing",
    "Raw 8bit: Gr\u{fc}\u{df}e",
    "=?unknown-charset?Q?abc?=",
    "=?utf-8?x?bad?=",
    "Quote \"in\" subject \\ backslash",
    "tab\tseparated\tsubject",
    "=?UTF-8?B?invalid base64!?=",
    "=?utf-8?q?encoded?=plain-right-after",
    "Folded\n subject over\n\tthree lines",
    "=?UTF-8?Q?=E2=82=AC_sign?= and =?UTF-8?Q?more?=",
    "(not a comment) subject",
    "=?utf-8*en?q?language?=",
];

const DATES: &[&str] = &[
    "Mon, 7 Feb 1994 21:52:25 -0800",
    "Tue, 1 Jul 2003 10:52:37 +0200",
    "1 Jan 2000 00:00:00 GMT",
    "Thu, 13 Feb 1969 23:32:54 -0330",
    "Fri, 21 Nov 97 09:55:06 GMT",
    "garbage date",
    "",
    "Sun, 29 Nov 2026 00:00:00 +0000 (UTC)",
    "Wed, 31 Dec 2036 23:59:60 +1400",
];

const MESSAGE_IDS: &[&str] = &[
    "<1234@local.machine.example>",
    "<id.with.dots@example.com>",
    "garbage-id",
    "<a@b> <c@d>",
    "",
    "<=?utf-8?q?x?=@example.com>",
    "  <spaced@example.com>  ",
];

/// Headers that are broken or odd; one may be added anywhere in a header block.
const ODD_HEADERS: &[&str] = &[
    "X-Broken header without colon",
    "X-Space : value after space",
    "X-Empty:",
    "X-8bit: caf\u{e9} cr\u{e8}me",
    "X-Tab:\tvalue",
    "Subject: a second subject",
    "X-Folded: first\n  second\n\tthird",
    "X-Colon::double",
    "x-lowercase-name: value",
    "X-Trailing-Space: value   ",
];

/// Leaf parts: the Content-* header lines and the body.
const LEAVES: &[(&str, &str)] = &[
    ("Content-Type: text/plain", "plain text\n"),
    (
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit",
        "Gr\u{fc}\u{df}e aus K\u{f6}ln \u{2013} \u{20ac}\n",
    ),
    (
        "Content-Type: text/plain; charset=\"iso-8859-1\"\nContent-Transfer-Encoding: quoted-printable",
        "caf=E9 and a soft=\nbreak\n",
    ),
    (
        "Content-Type: text/html; charset=us-ascii\nContent-Transfer-Encoding: base64",
        "PGI+aHRtbDwvYj4K\n",
    ),
    (
        "Content-Type: application/octet-stream; name=\"data.bin\"\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"data.bin\"",
        "AAECAwQFBgcICQ==\n",
    ),
    (
        "Content-Type: image/png; name=\"=?utf-8?q?bild_=C3=BC.png?=\"\nContent-Transfer-Encoding: BASE64\nContent-ID: <img1@example.com>\nContent-Description: =?utf-8?q?Ein_Bild?=",
        "iVBORw0KGgo=\n",
    ),
    (
        "Content-Type: text/plain; format=flowed; delsp=yes",
        "flowed line \nnext\n",
    ),
    (
        "Content-Type: application/pdf\nContent-Disposition: attachment;\n filename*=utf-8''%E2%82%AC%20rates.pdf",
        "%PDF-1.4\n",
    ),
    (
        "Content-Type: application/x-long; name*0=\"a very long \"; name*1=\"name.txt\"\nContent-Disposition: inline; filename*0*=us-ascii'en'part%20one; filename*1=\" two\"",
        "continued params\n",
    ),
    (
        "Content-Type: text/plain\nContent-Language: en, de\nContent-Location: http://example.com/x.txt\nContent-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==",
        "with language\n",
    ),
    ("Content-Type: text", "type without subtype\n"),
    ("Content-Type: TEXT/PLAIN; CHARSET=US-ASCII", "upper case\n"),
    ("Content-Type: foo", "garbage type\n"),
    ("Content-Type:", "empty type\n"),
    ("Content-Type: text/plain; x; =y; z=\"unterminated", "odd params\n"),
    ("Content-Type: text/plain;", "trailing semicolon\n"),
    ("Content-Transfer-Encoding: x-uuencode", "begin 644 x\n`\nend\n"),
    ("Content-Transfer-Encoding: binary", "binary\u{1}bytes\n"),
    ("Content-Transfer-Encoding: 7BIT ", "spaced cte\n"),
    ("", "no content headers at all\n"),
    ("Content-Type: text/plain", ""),
    ("Content-Type: text/plain", "no final newline"),
    (
        "Content-Type: text/plain; charset=utf-8",
        "two\n\nparagraphs\n\n\n",
    ),
    (
        "Content-Type: text/calendar; method=REQUEST; charset=\"utf-8\"",
        "BEGIN:VCALENDAR\nEND:VCALENDAR\n",
    ),
    (
        "Content-Disposition: attachment; filename=\"only-disposition.txt\"; size=42",
        "disposition without type\n",
    ),
    (
        "Content-Type: text/plain; charset=\"\"\nContent-Transfer-Encoding: quoted-printable",
        "bad qp =ZZ and =\n",
    ),
];

const MULTIPART_TYPES: &[&str] = &[
    "multipart/mixed",
    "multipart/alternative",
    "multipart/related; type=\"text/html\"",
    "multipart/digest",
    "multipart/parallel",
    "multipart/report; report-type=delivery-status",
    "multipart/signed; protocol=\"application/pgp-signature\"; micalg=pgp-sha256",
    "MULTIPART/MIXED",
    "multipart/x-unknown",
];

/// What can go wrong with a multipart's boundaries.
#[derive(Clone, Copy)]
enum Boundaries {
    Fine,
    NoParameter,
    NeverUsed,
    NoFinal,
    TrailingSpace,
    EmptyParts,
    PrefixLines,
    Quoted,
}

const BOUNDARIES: &[Boundaries] = &[
    Boundaries::Fine,
    Boundaries::Fine,
    Boundaries::Fine,
    Boundaries::NoParameter,
    Boundaries::NeverUsed,
    Boundaries::NoFinal,
    Boundaries::TrailingSpace,
    Boundaries::EmptyParts,
    Boundaries::PrefixLines,
    Boundaries::Quoted,
];

struct Gen {
    rng: Rng,
    boundary_no: u32,
}

impl Gen {
    fn boundary(&mut self) -> String {
        self.boundary_no += 1;
        // Sometimes the same boundary as an enclosing part would use.
        if self.rng.chance(5) {
            return "same".to_string();
        }
        format!("b{}_{}", self.boundary_no, self.rng.below(1000))
    }

    /// A header block of a message (ends with its last line's newline).
    fn message_header(&mut self, out: &mut String) {
        let mut lines: Vec<String> = Vec::new();
        if self.rng.chance(90) {
            lines.push(format!("From: {}", self.rng.pick(ADDRESSES)));
        }
        if self.rng.chance(30) {
            lines.push(format!("Sender: {}", self.rng.pick(ADDRESSES)));
        }
        if self.rng.chance(30) {
            lines.push(format!("Reply-To: {}", self.rng.pick(ADDRESSES)));
        }
        if self.rng.chance(85) {
            lines.push(format!("To: {}", self.rng.pick(ADDRESSES)));
        }
        if self.rng.chance(35) {
            lines.push(format!("Cc: {}", self.rng.pick(ADDRESSES)));
        }
        if self.rng.chance(15) {
            lines.push(format!("Bcc: {}", self.rng.pick(ADDRESSES)));
        }
        if self.rng.chance(90) {
            let subject = if self.rng.chance(5) {
                // A long subject, folded or not.
                let words: Vec<String> = (0..120).map(|i| format!("word{i}")).collect();
                if self.rng.chance(50) {
                    words.join(" ")
                } else {
                    words.join("\n ")
                }
            } else {
                self.rng.pick(SUBJECTS).to_string()
            };
            lines.push(format!("Subject: {subject}"));
        }
        if self.rng.chance(80) {
            lines.push(format!("Date: {}", self.rng.pick(DATES)));
        }
        if self.rng.chance(70) {
            lines.push(format!("Message-ID: {}", self.rng.pick(MESSAGE_IDS)));
        }
        if self.rng.chance(25) {
            lines.push(format!("In-Reply-To: {}", self.rng.pick(MESSAGE_IDS)));
        }
        if self.rng.chance(15) {
            lines.push(format!("References: {}", self.rng.pick(MESSAGE_IDS)));
        }
        for _ in 0..self.rng.below(3) {
            if self.rng.chance(50) {
                lines.push(self.rng.pick(ODD_HEADERS).to_string());
            }
        }
        if self.rng.chance(4) {
            lines.push(format!(
                "X-Huge: {}",
                "h".repeat(3000 + self.rng.below(3000))
            ));
        }
        // Shuffle a little: headers come in any order in real mail.
        for i in (1..lines.len()).rev() {
            if self.rng.chance(30) {
                let j = self.rng.below(i + 1);
                lines.swap(i, j);
            }
        }
        for line in lines {
            out.push_str(&line);
            out.push('\n');
        }
    }

    /// A part (its Content-* header lines and body), `depth` levels below the top.
    fn part(&mut self, depth: u32, out: &mut String) {
        let roll = self.rng.below(100);
        if depth < 4 && roll < 30 {
            self.multipart(depth, out);
        } else if depth < 4 && roll < 38 {
            out.push_str("Content-Type: message/rfc822\n");
            if self.rng.chance(40) {
                out.push_str("Content-Disposition: attachment; filename=\"fwd.eml\"\n");
            }
            out.push('\n');
            self.message(depth + 1, out);
        } else {
            self.leaf(out);
        }
    }

    fn leaf(&mut self, out: &mut String) {
        let (header, body) = LEAVES[self.rng.below(LEAVES.len())];
        if !header.is_empty() {
            out.push_str(header);
            out.push('\n');
        }
        out.push('\n');
        out.push_str(body);
        if self.rng.chance(5) {
            out.push_str(&"long line ".repeat(300 + self.rng.below(400)));
            out.push('\n');
        }
    }

    fn multipart(&mut self, depth: u32, out: &mut String) {
        let kind = self.rng.pick(MULTIPART_TYPES);
        let style = BOUNDARIES[self.rng.below(BOUNDARIES.len())];
        let boundary = self.boundary();
        match style {
            Boundaries::NoParameter => out.push_str(&format!("Content-Type: {kind}\n")),
            Boundaries::Quoted => out.push_str(&format!(
                "Content-Type: {kind}; boundary=\"{boundary} ?=:\"\n"
            )),
            _ => out.push_str(&format!(
                "Content-Type: {kind};\n boundary=\"{boundary}\"\n"
            )),
        }
        if self.rng.chance(20) {
            out.push_str("Content-Description: container\n");
        }
        out.push('\n');
        let delimiter = match style {
            Boundaries::Quoted => format!("{boundary} ?=:"),
            _ => boundary.clone(),
        };
        if self.rng.chance(30) {
            out.push_str("This is a preamble.\n");
        }
        let digest = kind.contains("digest");
        let count = 1 + self.rng.below(4);
        for i in 0..count {
            match style {
                Boundaries::NeverUsed => out.push_str(&format!("--other{i}\n")),
                Boundaries::TrailingSpace => out.push_str(&format!("--{delimiter}  \t\n")),
                Boundaries::PrefixLines if i == 0 => {
                    out.push_str(&format!("--{delimiter}x not a boundary\n"));
                    out.push_str(&format!("--{delimiter}\n"));
                }
                _ => out.push_str(&format!("--{delimiter}\n")),
            }
            if matches!(style, Boundaries::EmptyParts) && i % 2 == 0 {
                continue;
            }
            if digest && self.rng.chance(60) {
                // A digest's parts are message/rfc822 without saying so.
                out.push('\n');
                self.message(depth + 1, out);
            } else {
                self.part(depth + 1, out);
            }
        }
        match style {
            Boundaries::NoFinal => {}
            Boundaries::NeverUsed => out.push_str("--other--\n"),
            _ => out.push_str(&format!("--{delimiter}--\n")),
        }
        if self.rng.chance(25) {
            out.push_str("This is an epilogue.\n");
        }
    }

    /// A whole message: header block, maybe MIME-Version, and a body.
    fn message(&mut self, depth: u32, out: &mut String) {
        self.message_header(out);
        if self.rng.chance(80) {
            out.push_str("MIME-Version: 1.0\n");
        }
        if depth < 4 && self.rng.chance(10) {
            out.push_str("Content-Type: message/rfc822\n\n");
            self.message(depth + 1, out);
            return;
        }
        self.part(depth, out);
    }
}

/// Line ends as the message is sent: LF, CRLF, or a mixture with a bare CR.
fn line_ends(text: &str, style: usize) -> Vec<u8> {
    match style {
        0 => text.as_bytes().to_vec(),
        1 => text.replace('\n', "\r\n").into_bytes(),
        _ => {
            let mut out = Vec::new();
            for (i, line) in text.split_inclusive('\n').enumerate() {
                let line = line.as_bytes();
                if i % 7 == 3 && line.ends_with(b"\n") {
                    out.extend_from_slice(&line[..line.len() - 1]);
                    out.extend_from_slice(b"\r\n");
                } else if i % 11 == 5 && line.len() > 3 && !line.starts_with(b"--") {
                    out.extend_from_slice(&line[..2]);
                    out.push(b'\r');
                    out.extend_from_slice(&line[2..]);
                } else {
                    out.extend_from_slice(line);
                }
            }
            out
        }
    }
}

/// The generated corpus: `(name, message)`, names `gen-000` ...
pub fn generated() -> Vec<(String, Vec<u8>)> {
    let mut gen = Gen {
        rng: Rng(0x5eed_c07e_2026_0005),
        boundary_no: 0,
    };
    (0..COUNT)
        .map(|i| {
            let mut text = String::new();
            gen.message(0, &mut text);
            let style = [0, 0, 1, 2][gen.rng.below(4)];
            (format!("gen-{i:03}"), line_ends(&text, style))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn same_corpus_every_time() {
        let a = super::generated();
        assert_eq!(a.len(), super::COUNT);
        assert_eq!(a, super::generated());
    }
}
