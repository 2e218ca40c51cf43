//! doveadm's output formatters (`doveadm-print-flow.c`, `-tab.c`, `-table.c`): `-f flow|tab|
//! table` before the verb, or each verb's own default. The rows are printed once the command
//! has them all.

use super::table::table_expanding;

/// A formatter doveadm has and this build prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Formatter {
    /// `name=value` pairs, a row per line; a hidden title prints the value alone.
    Flow,
    /// Tab-separated, titles first (hidden ones too).
    Tab,
    /// Aligned columns (see [`super::table`]); no title line when every title is hidden.
    Table,
}

impl Formatter {
    /// The formatter `-f NAME` asks for. `Err`: doveadm's fatal text and exit code.
    pub fn parse(name: &str) -> Result<Formatter, (u8, String)> {
        match name {
            "flow" => Ok(Formatter::Flow),
            "tab" => Ok(Formatter::Tab),
            "table" => Ok(Formatter::Table),
            "pager" | "json" => Err((
                super::EX_USAGE,
                format!("Print formatter {name} is not supported by this build of cote"),
            )),
            // (doveadm exits with EX_TEMPFAIL here)
            _ => Err((
                super::EX_TEMPFAIL,
                format!("Unknown print formatter: {name}"),
            )),
        }
    }
}

/// A column: its title, whether the title is hidden, whether values are right-justified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    pub title: &'a str,
    pub hide_title: bool,
    pub right: bool,
}

impl<'a> Header<'a> {
    /// doveadm's `doveadm_print_header_simple`.
    pub fn simple(title: &'a str) -> Header<'a> {
        Header {
            title,
            hide_title: false,
            right: false,
        }
    }

    /// A column whose title only the tab formatter prints.
    pub fn hidden(title: &'a str) -> Header<'a> {
        Header {
            title,
            hide_title: true,
            right: false,
        }
    }
}

/// `rows` as `formatter` prints them under `headers`; `columns` is the terminal width the
/// table formatter fills.
pub fn render(
    formatter: Formatter,
    headers: &[Header<'_>],
    rows: &[Vec<String>],
    columns: usize,
) -> String {
    let mut out = String::new();
    match formatter {
        Formatter::Flow => {
            for row in rows {
                let cells: Vec<String> = headers
                    .iter()
                    .zip(row)
                    .map(|(h, v)| {
                        if h.hide_title {
                            v.clone()
                        } else {
                            format!("{}={v}", h.title)
                        }
                    })
                    .collect();
                out.push_str(&cells.join(" "));
                out.push('\n');
            }
        }
        Formatter::Tab => {
            let titles: Vec<&str> = headers.iter().map(|h| h.title).collect();
            out.push_str(&titles.join("\t"));
            out.push('\n');
            for row in rows {
                out.push_str(&row.join("\t"));
                out.push('\n');
            }
        }
        Formatter::Table => {
            let plain: Vec<(&str, bool)> = headers.iter().map(|h| (h.title, h.right)).collect();
            let text = table_expanding(&plain, rows, columns, headers.len().saturating_sub(1));
            if headers.iter().all(|h| h.hide_title) {
                // The widths still count the titles; the title line is left out.
                let body = text.split_once('\n').map_or("", |(_, rest)| rest);
                out.push_str(body);
            } else {
                out.push_str(&text);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(v: &[&[&str]]) -> Vec<Vec<String>> {
        v.iter()
            .map(|r| r.iter().map(|s| s.to_string()).collect())
            .collect()
    }

    /// Byte for byte what doveadm 2.3.19.1 printed for `mailbox status 'messages unseen'`
    /// and `mailbox list` with each formatter.
    #[test]
    fn formatters_as_doveadm() {
        let status = [
            Header::hidden("mailbox"),
            Header::simple("messages"),
            Header::simple("unseen"),
        ];
        let values = rows(&[&["Bar", "0", "0"], &["Ünï", "0", "0"], &["INBOX", "2", "1"]]);
        assert_eq!(
            render(Formatter::Flow, &status, &values, 80),
            "Bar messages=0 unseen=0\nÜnï messages=0 unseen=0\nINBOX messages=2 unseen=1\n"
        );
        assert_eq!(
            render(Formatter::Tab, &status, &values, 80),
            "mailbox\tmessages\tunseen\nBar\t0\t0\nÜnï\t0\t0\nINBOX\t2\t1\n"
        );
        assert_eq!(
            render(Formatter::Table, &status, &values, 80),
            "mailbox messages unseen                            \n\
             Bar     0        0                                 \n\
             Ünï     0        0                                 \n\
             INBOX   2        1                                 \n"
        );
        let list = [Header::hidden("mailbox")];
        let names = rows(&[&["Bar"], &["INBOX"]]);
        assert_eq!(render(Formatter::Flow, &list, &names, 80), "Bar\nINBOX\n");
        assert_eq!(
            render(Formatter::Tab, &list, &names, 80),
            "mailbox\nBar\nINBOX\n"
        );
        assert_eq!(
            render(Formatter::Table, &list, &names, 80),
            format!("Bar{}\nINBOX{}\n", " ".repeat(40), " ".repeat(38))
        );
        // -t: no mailbox column.
        let total = [Header::simple("messages"), Header::simple("unseen")];
        assert_eq!(
            render(Formatter::Tab, &total, &rows(&[&["0", "0"]]), 80),
            "messages\tunseen\n0\t0\n"
        );
    }

    #[test]
    fn formatter_names() {
        assert_eq!(Formatter::parse("tab"), Ok(Formatter::Tab));
        assert_eq!(
            Formatter::parse("bogus").unwrap_err().0,
            super::super::EX_TEMPFAIL
        );
        assert_eq!(
            Formatter::parse("pager").unwrap_err().0,
            super::super::EX_USAGE
        );
    }
}
