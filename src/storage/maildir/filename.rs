//! Maildir file names: `<base>[,S=<size>][,W=<vsize>][:2,<flags>]`, as Dovecot 2.3 writes and
//! reads them (`maildir-filename.c`, `maildir-filename-flags.c`), with `:` replaced by the
//! store's [`InfoSeparator`] (`maildir_info_separator`, for shares that refuse `:`).
//!
//! Names are bytes: files written by other software may hold anything but `/` and NUL.

use std::cmp::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::fs::FsError;
use crate::hostname;

use crate::storage::flags::MailFlags;

/// Dovecot's info separator (`MAILDIR_INFO_SEP`), and the default of `maildir_info_separator`.
const DOVECOT_INFO_SEP: u8 = b':';
/// Starts an extra field (`,S=`) in the base, and a second flag set after the flags.
pub const EXTRA_SEP: u8 = b',';
/// Keyword letters: `a` is keyword 0 in `dovecot-keywords`, `z` is 25.
pub const KEYWORD_FIRST: u8 = b'a';
pub const KEYWORD_LAST: u8 = b'z';
/// At most this many keywords fit in file names.
pub const MAX_KEYWORDS: usize = 26;

/// The extra field with the physical size (`,S=`).
pub const FIELD_SIZE: u8 = b'S';
/// The extra field with the virtual (CRLF) size, RFC822.SIZE (`,W=`).
pub const FIELD_VSIZE: u8 = b'W';

/// The info separator of a store (`maildir_info_separator`: `:` as in Dovecot, another
/// character on shares that refuse `:` in names), with which every name is read and built.
/// A name is split at the configured separator only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InfoSeparator {
    sep: u8,
    /// `<sep>2,`: the info part written before the flag letters.
    flags_prefix: [u8; 3],
}

impl Default for InfoSeparator {
    /// Dovecot's `:`.
    fn default() -> InfoSeparator {
        InfoSeparator::DOVECOT
    }
}

impl InfoSeparator {
    /// Dovecot's `:`, giving `:2,`.
    pub const DOVECOT: InfoSeparator = InfoSeparator::from_valid(DOVECOT_INFO_SEP);

    const fn from_valid(sep: u8) -> InfoSeparator {
        InfoSeparator {
            sep,
            flags_prefix: [sep, b'2', EXTRA_SEP],
        }
    }

    /// A `maildir_info_separator` value, by the configuration's rule for it.
    pub fn parse(text: &str) -> Result<InfoSeparator, String> {
        crate::config::schema::maildir_info_separator(text).map(InfoSeparator::from_valid)
    }

    /// The separator byte.
    pub fn byte(self) -> u8 {
        self.sep
    }

    /// The info part before the flag letters: `:2,`.
    pub fn flags_prefix(&self) -> &[u8] {
        &self.flags_prefix
    }

    /// The part before the info separator: the name in `new/`, the key in `dovecot-uidlist`.
    pub fn base(self, fname: &[u8]) -> &[u8] {
        match fname.iter().position(|&c| c == self.sep) {
            Some(i) => &fname[..i],
            None => fname,
        }
    }

    /// Whether two names are the same message (equal up to the info separator).
    pub fn same_base(self, a: &[u8], b: &[u8]) -> bool {
        self.base(a) == self.base(b)
    }

    /// Dovecot's `maildir_filename_get_size()`: the value of `,<key>=<digits>` when it ends
    /// at `,`, the info separator or the end of the name.
    pub fn size_field(self, fname: &[u8], key: u8) -> Option<u64> {
        let at = fname
            .windows(3)
            .position(|w| w[0] == EXTRA_SEP && w[1] == key && w[2] == b'=')?;
        let rest = &fname[at + 3..];
        let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        match rest.get(digits) {
            None | Some(&EXTRA_SEP) => {}
            Some(&c) if c == self.sep => {}
            Some(_) => return None,
        }
        let mut size: u64 = 0;
        for &d in &rest[..digits] {
            size = size.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        }
        Some(size)
    }

    /// The size a name tells without a `stat()`: `,W=` for the virtual size, `,S=` for the
    /// physical one unless `maildir_broken_filename_sizes = yes` says those can't be trusted.
    pub fn quick_size(self, fname: &[u8], vsize: bool, broken_filename_sizes: bool) -> Option<u64> {
        if vsize {
            self.size_field(fname, FIELD_VSIZE)
        } else if broken_filename_sizes {
            None
        } else {
            self.size_field(fname, FIELD_SIZE)
        }
    }

    /// The flag letters of a name: after the last separator, only if it reads `:2,`, up to a
    /// `,`.
    fn flag_letters(self, fname: &[u8]) -> &[u8] {
        let Some(sep) = fname.iter().rposition(|&c| c == self.sep) else {
            return &[];
        };
        let Some(letters) = fname[sep..].strip_prefix(self.flags_prefix()) else {
            return &[];
        };
        let end = letters
            .iter()
            .position(|&c| c == EXTRA_SEP)
            .unwrap_or(letters.len());
        &letters[..end]
    }

    /// The system flags and keyword letters (`a`–`z`, in name order) a name carries. Unknown
    /// letters such as `P` (passed) are ignored.
    pub fn flags(self, fname: &[u8]) -> (MailFlags, Vec<u8>) {
        let mut flags = MailFlags::empty();
        let mut keywords = Vec::new();
        for &c in self.flag_letters(fname) {
            match c {
                b'R' => flags.insert(MailFlags::ANSWERED),
                b'S' => flags.insert(MailFlags::SEEN),
                b'T' => flags.insert(MailFlags::DELETED),
                b'D' => flags.insert(MailFlags::DRAFT),
                b'F' => flags.insert(MailFlags::FLAGGED),
                KEYWORD_FIRST..=KEYWORD_LAST if !keywords.contains(&c) => keywords.push(c),
                _ => {}
            }
        }
        (flags, keywords)
    }

    /// The name with its flags set to `flags` and `keywords` (letters `a`–`z`), as Dovecot's
    /// `maildir_filename_flags_kw_set()`: letters in ASCII order, unknown letters kept in
    /// place, and anything after a `,` following the flags kept as it is.
    pub fn with_flags(self, fname: &[u8], flags: MailFlags, keywords: &[u8]) -> Vec<u8> {
        // The last separator is the info part only if no '/' follows it.
        let info = fname
            .iter()
            .rposition(|&c| c == self.sep)
            .filter(|&i| !fname[i..].contains(&b'/'));
        let (stem, old): (&[u8], &[u8]) = match info {
            Some(i) => (
                &fname[..i],
                fname[i..].strip_prefix(self.flags_prefix()).unwrap_or(&[]),
            ),
            None => (fname, &[]),
        };
        let mut kw: Vec<u8> = keywords
            .iter()
            .copied()
            .filter(|c| (KEYWORD_FIRST..=KEYWORD_LAST).contains(c))
            .collect();
        kw.sort_unstable();
        kw.dedup();

        let mut out = Vec::with_capacity(fname.len() + 8);
        out.extend_from_slice(stem);
        out.extend_from_slice(self.flags_prefix());
        let mut left = flags;
        let mut keywords_left = Some(kw);
        let is_known = |c: u8| {
            matches!(c, b'D' | b'F' | b'R' | b'S' | b'T')
                || (KEYWORD_FIRST..=KEYWORD_LAST).contains(&c)
        };
        let mut i = 0;
        loop {
            while i < old.len() && is_known(old[i]) {
                i += 1;
            }
            let next: u16 = match old.get(i) {
                None | Some(&EXTRA_SEP) => 256,
                Some(&c) => u16::from(c),
            };
            for (flag, letter) in [
                (MailFlags::DRAFT, b'D'),
                (MailFlags::FLAGGED, b'F'),
                (MailFlags::ANSWERED, b'R'),
                (MailFlags::SEEN, b'S'),
                (MailFlags::DELETED, b'T'),
            ] {
                if left.contains(flag) && next > u16::from(letter) {
                    out.push(letter);
                    left.remove(flag);
                }
            }
            if next > u16::from(KEYWORD_FIRST) {
                if let Some(kw) = keywords_left.take() {
                    out.extend_from_slice(&kw);
                }
            }
            match old.get(i) {
                None => break,
                Some(&EXTRA_SEP) => {
                    // A second flag set we know nothing about: kept as it is.
                    out.extend_from_slice(&old[i..]);
                    break;
                }
                Some(&c) => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        out
    }

    /// Dovecot's `maildir_filename_sort_cmp()`: by the seconds at the start of the name, then
    /// the `M<usecs>` of the unique part, then the base name. New files get their UIDs in
    /// this order.
    pub fn sort_cmp(self, a: &[u8], b: &[u8]) -> Ordering {
        let secs = |s: &[u8]| {
            let n = s.iter().take_while(|c| c.is_ascii_digit()).count();
            let value = s[..n].iter().fold(0u64, |acc, &d| {
                acc.wrapping_mul(10).wrapping_add(u64::from(d - b'0'))
            });
            (value, n)
        };
        let (secs_a, na) = secs(a);
        let (secs_b, nb) = secs(b);
        secs_a.cmp(&secs_b).then_with(|| {
            let (ra, rb) = (&a[na..], &b[nb..]);
            let by_usecs = match (self.usecs(ra), self.usecs(rb)) {
                (Some(ua), Some(ub)) => ua.cmp(&ub),
                _ => Ordering::Equal,
            };
            by_usecs.then_with(|| self.base(ra).cmp(self.base(rb)))
        })
    }

    /// The `M<digits>` inside `.<unique>.` right after the timestamp.
    fn usecs(self, rest: &[u8]) -> Option<u64> {
        let unique = rest.strip_prefix(b".")?;
        let end = unique
            .iter()
            .position(|&c| c == b'.' || c == self.sep)
            .unwrap_or(unique.len());
        let m = unique[..end].iter().position(|&c| c == b'M')?;
        Some(
            unique[m + 1..end]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .fold(0u64, |acc, &d| {
                    acc.wrapping_mul(10).wrapping_add(u64::from(d - b'0'))
                }),
        )
    }
}

/// The name a newly delivered file gets in `new/` or `cur/`: `<base>,S=<size>,W=<vsize>`.
pub fn with_sizes(base: &str, size: Option<u64>, vsize: Option<u64>) -> String {
    let mut name = base.to_string();
    if let Some(s) = size {
        name.push_str(&format!(",S={s}"));
    }
    if let Some(w) = vsize {
        name.push_str(&format!(",W={w}"));
    }
    name
}

/// Makes base names `<secs>.M<usecs>P<pid>.<host>` that are unique within this process:
/// when the clock has not moved past the last name, the last time plus 1 µs is used.
#[derive(Debug)]
pub struct BaseNameGenerator {
    pid: u32,
    hostname: String,
    last: (u64, u32),
    sep: InfoSeparator,
}

impl BaseNameGenerator {
    /// `hostname` must pass Dovecot's check (`hostname::check_hostname`) and, unlike in
    /// Dovecot, hold neither the info separator `sep`, which would start the info part of
    /// every name, nor `:`, which the shares that want another separator refuse.
    pub fn new(pid: u32, hostname: &str, sep: InfoSeparator) -> Result<BaseNameGenerator, FsError> {
        hostname::check_hostname(hostname).map_err(FsError::InvalidHostname)?;
        if hostname
            .bytes()
            .any(|c| c == DOVECOT_INFO_SEP || c == sep.byte())
        {
            return Err(FsError::InvalidHostname(hostname.to_string()));
        }
        Ok(BaseNameGenerator {
            pid,
            hostname: hostname.to_string(),
            last: (0, 0),
            sep,
        })
    }

    /// For this process on this host.
    pub fn for_this_process(sep: InfoSeparator) -> Result<BaseNameGenerator, FsError> {
        BaseNameGenerator::new(std::process::id(), crate::fs::hostname()?, sep)
    }

    /// The info separator of the store the names are for.
    pub fn separator(&self) -> InfoSeparator {
        self.sep
    }

    /// The next base name at wall-clock time `now`.
    pub fn next(&mut self, now: SystemTime) -> String {
        let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let now = (since.as_secs(), since.subsec_micros());
        let (secs, usecs) = if now > self.last {
            now
        } else if self.last.1 + 1 == 1_000_000 {
            (self.last.0 + 1, 0)
        } else {
            (self.last.0, self.last.1 + 1)
        };
        self.last = (secs, usecs);
        format!("{secs}.M{usecs}P{}.{}", self.pid, self.hostname)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    const NAME: &[u8] = b"1795878481.M681912P22112.vm,S=43,W=47:2,Sa";
    const COLON: InfoSeparator = InfoSeparator::DOVECOT;

    fn semicolon() -> InfoSeparator {
        InfoSeparator::parse(";").unwrap()
    }

    #[test]
    fn parts_and_sizes() {
        assert_eq!(COLON.base(NAME), b"1795878481.M681912P22112.vm,S=43,W=47");
        assert!(COLON.same_base(NAME, b"1795878481.M681912P22112.vm,S=43,W=47"));
        assert_eq!(COLON.size_field(NAME, FIELD_SIZE), Some(43));
        assert_eq!(COLON.size_field(NAME, FIELD_VSIZE), Some(47));
        assert_eq!(COLON.size_field(b"x,S=12a:2,", FIELD_SIZE), None);
        assert_eq!(COLON.size_field(b"x,S=12,W=1", FIELD_SIZE), Some(12));
        assert_eq!(COLON.size_field(b"x,S=", FIELD_SIZE), Some(0));
        assert_eq!(COLON.size_field(b"x", FIELD_SIZE), None);
        assert_eq!(
            COLON.size_field(b"x,S=99999999999999999999999", FIELD_SIZE),
            None
        );
        assert_eq!(COLON.quick_size(NAME, false, true), None);
        assert_eq!(COLON.quick_size(NAME, true, true), Some(47));
        assert_eq!(COLON.quick_size(NAME, false, false), Some(43));
    }

    #[test]
    fn reading_flags() {
        let (f, k) = COLON.flags(b"x:2,DFPRSTab");
        assert_eq!(f, MailFlags::ALL);
        assert_eq!(k, b"ab");
        assert_eq!(COLON.flags(b"x:1,S"), (MailFlags::empty(), vec![]));
        assert_eq!(COLON.flags(b"x"), (MailFlags::empty(), vec![]));
        // a ',' ends the flags
        assert_eq!(COLON.flags(b"x:2,S,T").0, MailFlags::SEEN);
        // only the last ':' counts
        assert_eq!(COLON.flags(b"a:2,S:b").0, MailFlags::empty());
    }

    #[test]
    fn setting_flags_as_dovecot() {
        let set =
            |name: &[u8], f, k: &[u8]| String::from_utf8(COLON.with_flags(name, f, k)).unwrap();
        assert_eq!(set(b"x,S=4", MailFlags::empty(), b""), "x,S=4:2,");
        assert_eq!(
            set(b"x:2,S", MailFlags::SEEN | MailFlags::DRAFT, b"ca"),
            "x:2,DSac"
        );
        // unknown letters keep their place in ASCII order
        assert_eq!(set(b"x:2,P", MailFlags::ALL, b""), "x:2,DFPRST");
        assert_eq!(set(b"x:2,FP", MailFlags::SEEN, b""), "x:2,PS");
        // a second flag set is kept
        assert_eq!(set(b"x:2,S,foo", MailFlags::FLAGGED, b"b"), "x:2,Fb,foo");
        // old keyword letters go when not asked for
        assert_eq!(set(b"x:2,Sabc", MailFlags::SEEN, b"b"), "x:2,Sb");
        // an info part other than 2 is replaced
        assert_eq!(set(b"x:1,foo", MailFlags::SEEN, b""), "x:2,S");
        // a ':' before a '/' is not an info part
        assert_eq!(set(b"a:b/c", MailFlags::SEEN, b""), "a:b/c:2,S");
    }

    #[test]
    fn sort_order() {
        let a = b"1700000000.M5P1.h";
        let b = b"1700000000.M40P1.h";
        let c = b"1700000001.M1P1.h";
        assert_eq!(COLON.sort_cmp(a, b), Ordering::Less);
        assert_eq!(COLON.sort_cmp(b, c), Ordering::Less);
        assert_eq!(COLON.sort_cmp(b"123.x.h", b"123.y.h"), Ordering::Less);
        assert_eq!(
            COLON.sort_cmp(b"1.M1P1.h:2,S", b"1.M1P1.h"),
            Ordering::Equal
        );
    }

    #[test]
    fn generated_names_are_unique() {
        let mut g = BaseNameGenerator::new(42, "mx1", COLON).unwrap();
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 999_999_000);
        assert_eq!(g.next(t), "1700000000.M999999P42.mx1");
        assert_eq!(g.next(t), "1700000001.M0P42.mx1");
        // a clock that goes back still yields new names
        assert_eq!(g.next(t - Duration::from_secs(5)), "1700000001.M1P42.mx1");
        assert_eq!(
            g.next(t + Duration::from_secs(10)),
            "1700000010.M999999P42.mx1"
        );
        assert!(BaseNameGenerator::new(1, "a/b", COLON).is_err());
        assert!(BaseNameGenerator::new(1, "a:b", COLON).is_err());
        assert!(BaseNameGenerator::new(1, "", COLON).is_err());
        assert_eq!(
            BaseNameGenerator::new(1, "a\tb", COLON)
                .unwrap_err()
                .to_string(),
            "Invalid system hostname: 'a\tb'"
        );
        assert_eq!(with_sizes("b", Some(43), Some(47)), "b,S=43,W=47");
    }

    #[test]
    fn another_separator() {
        let semi = semicolon();
        assert_eq!(semi.byte(), b';');
        assert_eq!(semi.flags_prefix(), b";2,");
        assert_eq!(COLON.flags_prefix(), b":2,");
        assert_eq!(InfoSeparator::default(), COLON);
        assert!(InfoSeparator::parse("a").is_err());
        let name = b"1795878481.M681912P22112.vm,S=43,W=47;2,FSb";
        assert_eq!(semi.base(name), b"1795878481.M681912P22112.vm,S=43,W=47");
        assert_eq!(semi.size_field(name, FIELD_VSIZE), Some(47));
        assert_eq!(
            semi.flags(name),
            (MailFlags::FLAGGED | MailFlags::SEEN, b"b".to_vec())
        );
        // A name is read with the configured separator only.
        assert_eq!(COLON.flags(name), (MailFlags::empty(), vec![]));
        assert_eq!(semi.flags(b"x:2,S"), (MailFlags::empty(), vec![]));
        assert_eq!(semi.base(b"x:2,S"), b"x:2,S");
        assert_eq!(COLON.size_field(name, FIELD_VSIZE), None);
        let set =
            |name: &[u8], f, k: &[u8]| String::from_utf8(semi.with_flags(name, f, k)).unwrap();
        assert_eq!(set(b"x,S=4", MailFlags::empty(), b""), "x,S=4;2,");
        assert_eq!(set(b"x;2,S", MailFlags::DRAFT, b"ca"), "x;2,Dac");
        assert_eq!(set(b"x;2,P,foo", MailFlags::SEEN, b""), "x;2,PS,foo");
        assert_eq!(semi.sort_cmp(b"1.M2P1.h;2,S", b"1.M10P1.h"), Ordering::Less);
        assert_eq!(semi.sort_cmp(b"1.M1P1.h;2,S", b"1.M1P1.h"), Ordering::Equal);
        // Hostnames holding the separator or ':' make no names.
        assert!(BaseNameGenerator::new(1, "a;b", semi).is_err());
        assert!(BaseNameGenerator::new(1, "a:b", semi).is_err());
        assert!(BaseNameGenerator::new(1, "a;b", COLON).is_ok());
        let mut g = BaseNameGenerator::new(7, "mx-1", semi).unwrap();
        assert_eq!(g.next(UNIX_EPOCH + Duration::new(5, 6000)), "5.M6P7.mx-1");
    }

    proptest! {
        #[test]
        fn flags_round_trip_any_separator(bits in 0u8..32,
                                          kw in proptest::collection::vec(b'a'..=b'z', 0..6),
                                          stem in "[0-9A-Za-z.,=]{1,20}",
                                          old in "[A-Za-z]{0,6}",
                                          sep in "[!-~]") {
            let Ok(names) = InfoSeparator::parse(&sep) else {
                return Ok(());
            };
            let name = format!("{stem}{sep}2,{old}");
            let out = names.with_flags(name.as_bytes(), MailFlags::from_bits_truncate(bits), &kw);
            let (f, k) = names.flags(&out);
            prop_assert_eq!(f, MailFlags::from_bits_truncate(bits));
            let mut want = kw.clone();
            want.sort_unstable();
            want.dedup();
            prop_assert_eq!(k, want);
            prop_assert_eq!(names.base(&out), stem.as_bytes());
            prop_assert_eq!(out.iter().filter(|&&c| c == names.byte()).count(), 1);
        }

        #[test]
        fn flags_round_trip(bits in 0u8..32, kw in proptest::collection::vec(b'a'..=b'z', 0..6),
                            stem in "[0-9A-Za-z.,=]{1,20}", old in "[A-Za-z]{0,6}") {
            let flags_in = MailFlags::from_bits_truncate(bits);
            // letters already on disk in ASCII order (as Dovecot writes them)
            let mut old = old.into_bytes();
            old.sort_unstable();
            let old = String::from_utf8(old).unwrap();
            let name = format!("{stem}:2,{old}");
            let out = COLON.with_flags(name.as_bytes(), flags_in, &kw);
            let (f, k) = COLON.flags(&out);
            prop_assert_eq!(f, flags_in);
            let mut want = kw.clone();
            want.sort_unstable();
            want.dedup();
            prop_assert_eq!(k, want);
            prop_assert_eq!(COLON.base(&out), stem.as_bytes());
            // letters stay in ASCII order
            let letters = COLON.flag_letters(&out);
            prop_assert!(letters.windows(2).all(|w| w[0] <= w[1]));
            // unknown letters survive
            for c in old.bytes().filter(|c| c.is_ascii_uppercase() && !b"DFRST".contains(c)) {
                prop_assert!(letters.contains(&c));
            }
        }

        #[test]
        fn never_panics(name in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = COLON.flags(&name);
            let _ = COLON.with_flags(&name, MailFlags::ALL, b"az");
            let _ = COLON.size_field(&name, b'S');
            let _ = COLON.sort_cmp(&name, b"1.M1P1.h");
            let _ = semicolon().with_flags(&name, MailFlags::ALL, b"az");
            let _ = semicolon().sort_cmp(&name, b"1.M1P1.h");
        }
    }
}
