//! MIME parameters with RFC 2231 continuations merged the way Dovecot merges them (and
//! reports them in BODYSTRUCTURE): `key*0`, `key*1`... become one `key` (`key*` when any
//! piece was extended, with `''` prefixed when the first piece was not, and `%` escaped in
//! non-extended pieces); a set with missing indexes is left as separate `key*n` parameters.
//! Values are not decoded: IMAP shows them raw.

use super::rfc822::{Param, Rfc822Parser};

/// Parses `; key=value` parameters from the cursor to the end. Returns them in Dovecot's
/// order (plain ones as they came, then the merged RFC 2231 ones sorted by name) and whether
/// anything was broken on the way.
pub fn parse(parser: &mut Rfc822Parser<'_>) -> (Vec<Param>, bool) {
    struct Piece {
        key: Vec<u8>,
        value: Vec<u8>,
        idx: u32,
        extended: bool,
    }
    let prev_replace = parser.replace_nuls;
    parser.replace_nuls = true;
    let mut result = Vec::new();
    let mut pieces: Vec<Piece> = Vec::new();
    let mut broken = false;
    // Dovecot keeps the index of the previous piece for a `key*` without one
    let mut idx = 0u32;
    loop {
        match parser.parse_content_param() {
            Ok(None) => break,
            Err(_) => {
                broken = true;
                if parser.at_end() {
                    break;
                }
                parser.pos += 1;
            }
            Ok(Some((key, value))) => {
                let Some(star) = key.iter().position(|&b| b == b'*') else {
                    result.push((key, value));
                    continue;
                };
                let mut p = star;
                if p + 1 < key.len() {
                    p += 1;
                    idx = 0;
                    while p < key.len() && key[p].is_ascii_digit() {
                        idx = idx.wrapping_mul(10).wrapping_add(u32::from(key[p] - b'0'));
                        p += 1;
                    }
                }
                let extended = key.get(p) == Some(&b'*');
                if extended {
                    p += 1;
                }
                if p < key.len() {
                    result.push((key, value));
                } else {
                    pieces.push(Piece {
                        key: key[..star].to_vec(),
                        value,
                        idx,
                        extended,
                    });
                }
            }
        }
    }
    parser.replace_nuls = prev_replace;
    if pieces.is_empty() {
        return (result, broken);
    }
    pieces.sort_by(|a, b| a.key.cmp(&b.key).then(a.idx.cmp(&b.idx)));
    let mut i = 0;
    while i < pieces.len() {
        let mut j = i;
        let mut ok = true;
        let mut have_extended = false;
        let mut next_idx = 0u32;
        while j < pieces.len() && pieces[j].key.eq_ignore_ascii_case(&pieces[i].key) {
            if pieces[j].idx != next_idx {
                ok = false;
            }
            have_extended |= pieces[j].extended;
            next_idx = next_idx.wrapping_add(1);
            j += 1;
        }
        if !ok {
            for piece in &pieces[i..j] {
                let mut key = piece.key.clone();
                key.extend_from_slice(format!("*{}", piece.idx).as_bytes());
                if piece.extended {
                    key.push(b'*');
                }
                result.push((key, piece.value.clone()));
            }
        } else {
            let mut value = Vec::new();
            if !pieces[i].extended && have_extended {
                value.extend_from_slice(b"''");
            }
            for piece in &pieces[i..j] {
                if !piece.extended && have_extended {
                    for &b in &piece.value {
                        if b == b'%' {
                            value.extend_from_slice(b"%25");
                        } else {
                            value.push(b);
                        }
                    }
                } else {
                    value.extend_from_slice(&piece.value);
                }
            }
            let mut key = pieces[i].key.clone();
            if have_extended {
                key.push(b'*');
            }
            result.push((key, value));
        }
        i = j;
    }
    (result, broken)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(s: &[u8]) -> Vec<(String, String)> {
        let mut p = Rfc822Parser::new(s);
        parse(&mut p)
            .0
            .into_iter()
            .map(|(k, v)| {
                (
                    String::from_utf8_lossy(&k).into_owned(),
                    String::from_utf8_lossy(&v).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn continuations() {
        assert_eq!(
            params(b"; a=1; title*1*=%20b; title*0*=us-ascii'en'a; x*2=y"),
            vec![
                ("a".into(), "1".into()),
                ("title*".into(), "us-ascii'en'a%20b".into()),
                ("x*2".into(), "y".into()),
            ]
        );
        assert_eq!(
            params(b"; n*0=\"50%\"; n*1*=%41"),
            vec![("n*".into(), "''50%25%41".into())]
        );
    }
}
