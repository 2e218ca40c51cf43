//! GNU getopt as doveadm's commands use it: letters may be grouped (`-rs`), a value may be
//! attached (`-ualice`) or follow, and `--` ends the options.

/// What getopt found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Getopt {
    /// The options in order, with their values.
    pub flags: Vec<(char, Option<String>)>,
    /// The positional words.
    pub args: Vec<String>,
}

/// getopt's complaints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetoptError {
    Invalid(char),
    MissingValue(char),
}

impl GetoptError {
    /// getopt's words, without the program name.
    pub fn text(&self) -> String {
        match self {
            GetoptError::Invalid(c) => format!("invalid option -- '{c}'"),
            GetoptError::MissingValue(c) => format!("option requires an argument -- '{c}'"),
        }
    }
}

/// Parses `words` by `spec` (letters; `x:` takes a value). With `permute` (GNU's default),
/// options may follow positional words; without (a `+` spec), the first positional word
/// ends them.
pub fn getopt(words: &[String], spec: &str, permute: bool) -> Result<Getopt, GetoptError> {
    let takes_value = |c: char| -> Option<bool> {
        if c == ':' {
            return None;
        }
        spec.find(c)
            .map(|at| spec[at + c.len_utf8()..].starts_with(':'))
    };
    let mut out = Getopt::default();
    let mut words = words.iter();
    while let Some(word) = words.next() {
        if word == "--" {
            out.args.extend(words.by_ref().cloned());
            break;
        }
        let Some(letters) = word.strip_prefix('-').filter(|l| !l.is_empty()) else {
            out.args.push(word.clone());
            if !permute {
                out.args.extend(words.by_ref().cloned());
                break;
            }
            continue;
        };
        for (i, c) in letters.char_indices() {
            let with_value = takes_value(c).ok_or(GetoptError::Invalid(c))?;
            if !with_value {
                out.flags.push((c, None));
                continue;
            }
            let attached = &letters[i + c.len_utf8()..];
            let value = if attached.is_empty() {
                words.next().cloned().ok_or(GetoptError::MissingValue(c))?
            } else {
                attached.to_string()
            };
            out.flags.push((c, Some(value)));
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn permuted_and_in_order() {
        let found = getopt(&words(&["a", "-rs", "-gx", "b", "-g", "y"]), "rsg:", true).unwrap();
        assert_eq!(
            found.flags,
            [
                ('r', None),
                ('s', None),
                ('g', Some("x".into())),
                ('g', Some("y".into()))
            ]
        );
        assert_eq!(found.args, ["a", "b"]);
        let found = getopt(&words(&["-1", "alice", "-1", "--"]), "1a:", false).unwrap();
        assert_eq!(found.flags, [('1', None)]);
        assert_eq!(found.args, ["alice", "-1", "--"]);
        assert_eq!(
            getopt(&words(&["-x"]), "a:", false),
            Err(GetoptError::Invalid('x'))
        );
        assert_eq!(
            getopt(&words(&["-a"]), "a:", false),
            Err(GetoptError::MissingValue('a'))
        );
        assert_eq!(
            getopt(&words(&["-:"]), "a:", true),
            Err(GetoptError::Invalid(':'))
        );
    }
}
