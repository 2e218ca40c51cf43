use super::*;
use crate::net::{LineError, LineReader};
use proptest::prelude::*;

/// Dovecot's imap-login limits (Debian 2.3.19.1 with its security backports).
fn login_limits() -> ParserLimits {
    ParserLimits {
        max_line: 8192,
        max_token: 1026,
        max_lists: 1,
        max_depth: 1,
        max_tag: 126,
        literal_minus: false,
    }
}

fn roomy_limits() -> ParserLimits {
    ParserLimits {
        max_line: 1 << 20,
        max_token: 1 << 20,
        max_lists: 0,
        max_depth: 64,
        max_tag: 126,
        literal_minus: false,
    }
}

/// What a whole command parses to: the head, then the arguments or the first error.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Head(HeadError),
    Args(Head, Result<Vec<Arg>, ParseError>),
}

/// Reads one command from `wire` the way a session does: lines from a `LineReader`, literals
/// counted. `line_max` is the reader's limit.
fn run(limits: ParserLimits, line_max: usize, wire: &[u8]) -> Outcome {
    let mut reader = LineReader::new(wire, line_max);
    let mut parser = CommandParser::new(limits);
    let read = |reader: &mut LineReader<&[u8]>| -> (Vec<u8>, LineEnd) {
        match reader.read_line() {
            Ok(Some(line)) => (line.to_vec(), LineEnd::Complete),
            Err(LineError::TooLong { head, .. }) => (head, LineEnd::Truncated),
            other => panic!("test wire ended early: {other:?}"),
        }
    };
    let (line, end) = read(&mut reader);
    let head = match parser.start(&line, end) {
        Ok(head) => head,
        Err(e) => return Outcome::Head(e),
    };
    let mut progress = parser.args();
    loop {
        match progress {
            Ok(Progress::Done(args)) => return Outcome::Args(head, Ok(args)),
            Ok(Progress::Literal { size, .. }) => {
                let mut data = Vec::new();
                reader.read_exact_into(size, &mut data).unwrap();
                parser.provide_literal(data);
                let (line, end) = read(&mut reader);
                progress = parser.continue_line(&line, end);
            }
            Err(e) => return Outcome::Args(head, Err(e)),
        }
    }
}

fn login(wire: &[u8]) -> Outcome {
    run(login_limits(), 8192 + 1026, wire)
}

fn args(wire: &[u8]) -> Result<Vec<Arg>, ParseError> {
    match login(wire) {
        Outcome::Args(_, result) => result,
        other => panic!("head failed: {other:?}"),
    }
}

fn atom(s: &str) -> Arg {
    Arg::Atom(s.to_string())
}

fn quoted(s: &[u8]) -> Arg {
    Arg::Quoted(s.to_vec())
}

#[test]
fn head_and_simple_arguments() {
    assert_eq!(
        login(b"a1 NOOP\r\n"),
        Outcome::Args(
            Head {
                tag: "a1".into(),
                name: "NOOP".into()
            },
            Ok(vec![])
        )
    );
    assert_eq!(
        args(b"a LOGIN bob \"pass \\\"word\\\\\" NIL\r\n"),
        Ok(vec![atom("bob"), quoted(b"pass \"word\\"), atom("NIL")])
    );
    // Dovecot needs no space between arguments, and keeps atoms with ] % * \ [.
    assert_eq!(
        args(b"a X \"a\"\"b\"(c)BODY[1]<0.5> a%b*c\\d\n"),
        Ok(vec![
            quoted(b"a"),
            quoted(b"b"),
            Arg::List(vec![atom("c")]),
            atom("BODY[1]<0.5>"),
            atom("a%b*c\\d"),
        ])
    );
    // 8-bit bytes are fine inside quoted strings.
    assert_eq!(args(b"c NOOP \"\xff\"\r\n"), Ok(vec![quoted(b"\xff")]));
}

#[test]
fn invalid_tags_and_names() {
    use HeadError::*;
    for wire in [
        &b"\r\n"[..],
        b" \r\n",
        b"a* NOOP\r\n",
        b"a+ NOOP\r\n",
        b"\0\r\n",
        b"{3}\r\n",
        b"a\tNOOP\r\n",
        b"\xc3\xa9 NOOP\r\n",
    ] {
        assert_eq!(login(wire), Outcome::Head(InvalidTag), "{wire:?}");
    }
    let tag = |t: &str| InvalidName { tag: t.into() };
    assert_eq!(login(b"a\r\n"), Outcome::Head(tag("a")));
    assert_eq!(login(b"a \r\n"), Outcome::Head(tag("a")));
    assert_eq!(login(b"a  NOOP\r\n"), Outcome::Head(tag("a")));
    assert_eq!(login(b"a NO\0OP\r\n"), Outcome::Head(tag("a")));
    assert_eq!(login(b"b N\xc3\xa9OP\r\n"), Outcome::Head(tag("b")));
    assert_eq!(login(b"b NOOP\ta\r\n"), Outcome::Head(tag("b")));
    // '+' is fine in a command name.
    assert!(matches!(login(b"a X+Y\r\n"), Outcome::Args(..)));
}

#[test]
fn tag_and_name_lengths() {
    let wire = |tag_len: usize, name_len: usize| {
        let mut w = vec![b't'; tag_len];
        w.push(b' ');
        w.extend(std::iter::repeat_n(b'N', name_len));
        w.extend_from_slice(b"\r\n");
        w
    };
    assert!(matches!(login(&wire(126, 4)), Outcome::Args(..)));
    assert_eq!(login(&wire(127, 4)), Outcome::Head(HeadError::InvalidTag));
    assert_eq!(login(&wire(1025, 4)), Outcome::Head(HeadError::InvalidTag));
    assert_eq!(login(&wire(1026, 4)), Outcome::Head(HeadError::BufferFull));
    assert!(matches!(login(&wire(3, 1025)), Outcome::Args(..)));
    assert_eq!(login(&wire(3, 1026)), Outcome::Head(HeadError::BufferFull));
    assert_eq!(
        login(&wire(1_000_000, 0)),
        Outcome::Head(HeadError::BufferFull)
    );
}

#[test]
fn dovecot_error_texts() {
    use ParseError::*;
    let cases: &[(&[u8], ParseError)] = &[
        (b"a NOOP \0\r\n", InvalidAtomChars),
        (b"a NOOP a{b\r\n", InvalidAtomChars),
        (b"a NOOP a(b\r\n", InvalidAtomChars),
        (b"a NOOP \x7f\r\n", InvalidAtomChars),
        (b"a NOOP \xff\xfe\r\n", EightBitAtom),
        (b"b NOOP \"x\0y\"\r\n", NulInString),
        (b"b NOOP \"x\\\0y\"\r\n", NulInString),
        (b"a NOOP (a b\r\n", MissingCloseParen),
        (b"b NOOP )\r\n", UnexpectedCloseParen),
        (b"b NOOP a)\r\n", UnexpectedCloseParen),
        (b"c NOOP \"abc\r\n", MissingQuote),
        (b"c NOOP \"a\\\r\n", MissingQuote),
        (b"c NOOP \"a\rb\"\r\n", MissingQuote),
        (b"a NOOP a\rb\r\n", CrWithoutLf),
        (b"a NOOP\r\r\n", CrWithoutLf),
        (b"a NOOP {3x}\r\n", InvalidLiteralSize),
        (b"a NOOP {12\r\n", InvalidLiteralSize),
        (b"a NOOP {3+x}\r\n", ExpectingCloseBrace),
        (b"a NOOP {3}x\r\n", MissingLfAfterLiteral { sync: true }),
        (b"a NOOP {3} \r\n", MissingLfAfterLiteral { sync: true }),
        (b"a NOOP {3+}x\r\n", MissingLfAfterLiteral { sync: false }),
        (b"c NOOP ~{3}\r\n", Literal8NotAllowed),
        (b"a NOOP ((a))\r\n", TooManyOpenParens),
        (b"a NOOP (a) (b)\r\n", TooManyOpenParens),
        (b"a NOOP {8200}\r\n", LiteralTooLarge),
        (b"a NOOP {100000+}\r\n", LiteralTooLarge),
        (b"a NOOP {99999999999999999999999}\r\n", LiteralTooLarge),
    ];
    for (wire, expected) in cases {
        assert_eq!(
            args(wire),
            Err(*expected),
            "{:?}",
            String::from_utf8_lossy(wire)
        );
    }
    assert_eq!(TooManyOpenParens.message(), "Too many '('");
    assert_eq!(MissingQuote.to_string(), "Missing '\"'");
    assert!(LiteralTooLarge.is_fatal() && BufferFull.is_fatal() && !LineTooLong.is_fatal());
}

#[test]
fn atoms_and_quoted_strings_at_the_buffer_limit() {
    let atom_wire = |n: usize| [b"a NOOP ".to_vec(), vec![b'x'; n], b"\r\n".to_vec()].concat();
    assert_eq!(args(&atom_wire(1025)).map(|a| a.len()), Ok(1));
    assert_eq!(args(&atom_wire(1026)), Err(ParseError::BufferFull));
    let quoted_wire =
        |n: usize| [b"a NOOP \"".to_vec(), vec![b'x'; n], b"\"\r\n".to_vec()].concat();
    assert_eq!(args(&quoted_wire(1024)).map(|a| a.len()), Ok(1));
    assert_eq!(args(&quoted_wire(1025)), Err(ParseError::BufferFull));
    // An error inside the token is found before the buffer overflows.
    let mut bad = atom_wire(2000);
    bad[10] = b'"';
    assert_eq!(args(&bad), Err(ParseError::InvalidAtomChars));
}

#[test]
fn literals() {
    assert_eq!(
        args(b"a NOOP {3}\r\nabc\r\n"),
        Ok(vec![Arg::Literal(b"abc".to_vec())])
    );
    // LITERAL+, bare LF line ends, a literal of CRLF and NUL bytes, several literals.
    assert_eq!(
        args(b"a NOOP {3+}\nabc {4}\n\r\n\0x {0}\r\n)x\r\n"),
        Err(ParseError::UnexpectedCloseParen)
    );
    assert_eq!(
        args(b"a NOOP {3+}\nabc {4}\n\r\n\0x {0}\r\n x\r\n"),
        Ok(vec![
            Arg::Literal(b"abc".to_vec()),
            Arg::Literal(b"\r\n\0x".to_vec()),
            Arg::Literal(vec![]),
            atom("x"),
        ])
    );
    // An atom may follow a literal without a space (Dovecot: "{3}" "abcd" gives "abc" "d").
    assert_eq!(
        args(b"a NOOP {3}\r\nabcd\r\n"),
        Ok(vec![Arg::Literal(b"abc".to_vec()), atom("d")])
    );
    // Literals inside a list.
    assert_eq!(
        args(b"a ID ({4}\r\nname \"x\")\r\n"),
        Ok(vec![Arg::List(vec![
            Arg::Literal(b"name".to_vec()),
            quoted(b"x")
        ])])
    );
    // The data counts toward the line: 1026 is the most the login buffer takes.
    let lit = |n: usize| {
        [
            format!("a NOOP {{{n}}}\r\n").into_bytes(),
            vec![b'x'; n],
            b"\r\n".to_vec(),
        ]
        .concat()
    };
    assert_eq!(args(&lit(1026)).map(|a| a.len()), Ok(1));
    assert_eq!(args(&lit(1027)), Err(ParseError::BufferFull));
}

#[test]
fn literal_announcements_report_sync() {
    let mut p = CommandParser::new(login_limits());
    p.start(b"a NOOP {5}", LineEnd::Complete).unwrap();
    assert_eq!(
        p.args(),
        Ok(Progress::Literal {
            size: 5,
            sync: true
        })
    );
    p.provide_literal(b"12345".to_vec());
    assert_eq!(
        p.continue_line(b"", LineEnd::Complete),
        Ok(Progress::Done(vec![Arg::Literal(b"12345".to_vec())]))
    );
    p.start(b"a NOOP {5+}", LineEnd::Complete).unwrap();
    assert_eq!(
        p.args(),
        Ok(Progress::Literal {
            size: 5,
            sync: false
        })
    );
}

#[test]
fn literal_minus() {
    let limits = ParserLimits {
        literal_minus: true,
        ..roomy_limits()
    };
    let mut p = CommandParser::new(limits);
    p.start(b"a APPEND {4097+}", LineEnd::Complete).unwrap();
    assert_eq!(p.args(), Err(ParseError::NonSyncLiteralTooLarge));
    p.start(b"a APPEND {4096+}", LineEnd::Complete).unwrap();
    assert_eq!(
        p.args(),
        Ok(Progress::Literal {
            size: 4096,
            sync: false
        })
    );
    p.start(b"a APPEND {5000}", LineEnd::Complete).unwrap();
    assert_eq!(
        p.args(),
        Ok(Progress::Literal {
            size: 5000,
            sync: true
        })
    );
}

#[test]
fn line_length_limit() {
    let spaced =
        |pairs: usize| [b"a NOOP ".to_vec(), b"x ".repeat(pairs), b"\r\n".to_vec()].concat();
    assert_eq!(args(&spaced(4000)).map(|a| a.len()), Ok(4000));
    assert_eq!(args(&spaced(4500)), Err(ParseError::LineTooLong));
    // Over the reader's limit: the head still shows the line is too long.
    assert_eq!(args(&spaced(500_000)), Err(ParseError::LineTooLong));
    // A huge single atom never fits.
    let mut huge = b"a NOOP ".to_vec();
    huge.extend(vec![b'x'; 1_000_000]);
    huge.extend_from_slice(b"\r\n");
    assert_eq!(args(&huge), Err(ParseError::BufferFull));
    // Literal data counts toward the line.
    let mut lits = Vec::new();
    lits.extend_from_slice(b"a NOOP");
    for _ in 0..9 {
        lits.extend_from_slice(b" {1000}\r\n");
        lits.extend(vec![b'y'; 1000]);
    }
    lits.extend_from_slice(b"\r\n");
    assert_eq!(args(&lits), Err(ParseError::LiteralTooLarge));
}

#[test]
fn depth_and_list_count_limits() {
    let limits = ParserLimits {
        max_depth: 3,
        max_lists: 5,
        ..roomy_limits()
    };
    let parse = |wire: &[u8]| match run(limits.clone(), 1 << 20, wire) {
        Outcome::Args(_, r) => r,
        o => panic!("{o:?}"),
    };
    assert!(parse(b"a X (((a)))\r\n").is_ok());
    assert_eq!(
        parse(b"a X ((((a))))\r\n"),
        Err(ParseError::TooManyOpenParens)
    );
    assert!(parse(b"a X () () () () ()\r\n").is_ok());
    assert_eq!(
        parse(b"a X () () () () () ()\r\n"),
        Err(ParseError::TooManyOpenParens)
    );
    // Deep nesting never builds deep trees: the limit stops it first.
    let deep = [
        b"a X ".to_vec(),
        vec![b'('; 100_000],
        vec![b')'; 100_000],
        b"\r\n".to_vec(),
    ]
    .concat();
    assert_eq!(parse(&deep), Err(ParseError::TooManyOpenParens));
}

#[test]
fn first_argument_only() {
    let options = ArgOptions {
        max_lists: 0,
        max_depth: 2,
        first_only: true,
    };
    let mut p = CommandParser::new(login_limits());
    let mut id = |line: &[u8]| {
        p.start(line, LineEnd::Complete).unwrap();
        p.args_with(options)
    };
    // What follows the first argument is not parsed, even when it is not valid.
    assert_eq!(
        id(b"a ID (\"name\" \"x\") ) {5}"),
        Ok(Progress::Done(vec![Arg::List(vec![
            quoted(b"name"),
            quoted(b"x")
        ])]))
    );
    assert_eq!(
        id(b"a ID NIL garbage\"\0"),
        Ok(Progress::Done(vec![atom("NIL")]))
    );
    assert_eq!(id(b"a ID"), Ok(Progress::Done(vec![])));
    // The options replace the default list limits (the login parser allows one list).
    assert_eq!(
        id(b"a ID (\"a\" (\"b\") \"c\" (\"d\"))"),
        Ok(Progress::Done(vec![Arg::List(vec![
            quoted(b"a"),
            Arg::List(vec![quoted(b"b")]),
            quoted(b"c"),
            Arg::List(vec![quoted(b"d")]),
        ])]))
    );
    assert_eq!(
        id(b"a ID (\"a\" ((\"b\")))"),
        Err(ParseError::TooManyOpenParens)
    );
    // The next command is back to the defaults.
    p.start(b"a NOOP (a) (b)", LineEnd::Complete).unwrap();
    assert_eq!(p.args(), Err(ParseError::TooManyOpenParens));
}

#[test]
fn args_of_a_setting_line() {
    let mut p = CommandParser::new(roomy_limits());
    assert_eq!(
        p.args_of_line(b"name * \"Quoted Key\" v NIL"),
        Ok(Progress::Done(vec![
            atom("name"),
            atom("*"),
            quoted(b"Quoted Key"),
            atom("v"),
            atom("NIL")
        ]))
    );
    assert_eq!(
        p.args_of_line(b"a\\\\\"b\" c"),
        Err(ParseError::InvalidAtomChars)
    );
    assert_eq!(p.args_of_line(b""), Ok(Progress::Done(vec![])));
}

#[test]
fn arg_accessors() {
    let nil = atom("nil");
    assert!(nil.is_nil());
    assert_eq!(nil.as_astring(), Some(&b"nil"[..]));
    assert_eq!(nil.as_string(), None);
    assert_eq!(nil.as_nstring(), Some(None));
    assert_eq!(atom("x").as_nstring(), None);
    assert_eq!(quoted(b"q").as_nstring(), Some(Some(&b"q"[..])));
    assert_eq!(Arg::Literal(b"l".to_vec()).as_string(), Some(&b"l"[..]));
    assert_eq!(Arg::List(vec![]).as_astring(), None);
}

/// Writes arguments in IMAP syntax, literals announced synchronizing.
fn write_args(args: &[Arg], out: &mut Vec<u8>) {
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        match arg {
            Arg::Atom(a) => out.extend_from_slice(a.as_bytes()),
            Arg::Quoted(q) => {
                out.push(b'"');
                for &b in q {
                    if b == b'"' || b == b'\\' {
                        out.push(b'\\');
                    }
                    out.push(b);
                }
                out.push(b'"');
            }
            Arg::Literal(l) => {
                out.extend_from_slice(format!("{{{}}}\r\n", l.len()).as_bytes());
                out.extend_from_slice(l);
            }
            Arg::List(items) => {
                out.push(b'(');
                write_args(items, out);
                out.push(b')');
            }
        }
    }
}

fn arb_arg() -> impl Strategy<Value = Arg> {
    let atom_char = prop_oneof![
        proptest::char::range('!', '~').prop_filter("atom-special", |c| !"(){\"".contains(*c)),
    ];
    let leaf = prop_oneof![
        proptest::collection::vec(atom_char, 1..12)
            .prop_map(|cs| Arg::Atom(cs.into_iter().collect())),
        proptest::collection::vec(
            any::<u8>().prop_filter("not NUL/CR/LF", |b| !matches!(b, 0 | b'\r' | b'\n')),
            0..20
        )
        .prop_map(Arg::Quoted),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Arg::Literal),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        proptest::collection::vec(inner, 0..6).prop_map(Arg::List)
    })
}

/// Feeds every command in `data` through a reader and parser as a session would.
fn parse_all(data: &[u8], limits: ParserLimits, line_max: usize) {
    let mut reader = LineReader::new(data, line_max);
    let mut parser = CommandParser::new(limits);
    for _ in 0..200 {
        let (line, end) = match reader.read_line() {
            Ok(Some(line)) => (line.to_vec(), LineEnd::Complete),
            Err(LineError::TooLong { head, .. }) => (head, LineEnd::Truncated),
            _ => break,
        };
        if parser.start(&line, end).is_err() {
            continue;
        }
        let mut progress = parser.args();
        while let Ok(Progress::Literal { size, .. }) = progress {
            let mut lit = Vec::new();
            if reader.read_exact_into(size, &mut lit).is_err() {
                break;
            }
            parser.provide_literal(lit);
            progress = match reader.read_line() {
                Ok(Some(line)) => parser.continue_line(line, LineEnd::Complete),
                Err(LineError::TooLong { head, .. }) => {
                    parser.continue_line(&head, LineEnd::Truncated)
                }
                _ => break,
            };
        }
    }
}

proptest! {
    /// Valid commands with random bytes changed, inserted or removed: never a panic.
    #[test]
    fn mutated_commands_never_panic(
        args in proptest::collection::vec(arb_arg(), 0..6),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let mut wire = b"t CMD ".to_vec();
        write_args(&args, &mut wire);
        wire.extend_from_slice(b"\r\n");
        for (at, byte, kind) in edits {
            let at = at % (wire.len() + 1);
            match kind {
                0 if at < wire.len() => wire[at] = byte,
                1 => wire.insert(at, byte),
                _ if at < wire.len() => {
                    wire.remove(at);
                }
                _ => {}
            }
        }
        parse_all(&wire, login_limits(), 9218);
        parse_all(&wire, roomy_limits(), 64);
    }

    /// Whatever the bytes, the parser answers (a head error, arguments or a parse error) and
    /// never panics, with the login limits and with roomy ones.
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..3000)) {
        parse_all(&data, login_limits(), 9218);
        parse_all(&data, roomy_limits(), 512);
    }

    /// Valid commands parse back to the arguments they were written from.
    #[test]
    fn valid_commands_round_trip(args in proptest::collection::vec(arb_arg(), 0..8)) {
        let mut wire = b"tag1 CMD".to_vec();
        if !args.is_empty() {
            wire.push(b' ');
            write_args(&args, &mut wire);
        }
        wire.extend_from_slice(b"\r\n");
        let outcome = run(roomy_limits(), 1 << 16, &wire);
        prop_assert_eq!(
            outcome,
            Outcome::Args(Head { tag: "tag1".into(), name: "CMD".into() }, Ok(args))
        );
    }
}
