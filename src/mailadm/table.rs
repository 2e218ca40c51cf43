//! doveadm's table formatter (`doveadm-print-table.c`), shared by the verbs that print one.

/// Dovecot's `doveadm_calc_header_length`, shrinking included.
fn column_widths(
    headers: &[(&str, bool)],
    rows: &[Vec<String>],
    columns: usize,
    expand: usize,
    sized_by: usize,
) -> Vec<usize> {
    let titles: Vec<usize> = headers.iter().map(|(t, _)| t.chars().count()).collect();
    let (mut min, mut max, mut width) = (titles.clone(), titles.clone(), titles);
    for row in rows.iter().take(sized_by) {
        for (i, value) in row.iter().enumerate().take(headers.len()) {
            let len = value.chars().count();
            min[i] = min[i].min(len);
            if max[i] < len {
                max[i] = len;
                width[i] = len;
            }
        }
    }
    let mut total = max.iter().map(|m| m + 1).sum::<usize>().saturating_sub(1);
    while total > columns {
        let before = total;
        for i in (0..width.len()).rev() {
            let diff = width[i] - min[i];
            if total - diff <= columns {
                let cut = total - columns;
                width[i] -= cut;
                total -= cut;
                break;
            }
            // As doveadm does: this narrows the column but not the total.
            if diff > 0 {
                width[i] -= if diff == 1 { 1 } else { diff / 2 };
            }
        }
        if total == before {
            break;
        }
    }
    if total < columns {
        if let Some(w) = width.get_mut(expand) {
            *w += (columns - total) / 2;
        }
    }
    width
}

/// The terminal's width, as doveadm's table formatter takes it (80 when not a terminal).
pub fn terminal_columns() -> usize {
    // SAFETY: TIOCGWINSZ fills the winsize we pass; a failure leaves it unread.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    if ok {
        usize::from(ws.ws_col).max(30)
    } else {
        80
    }
}

/// doveadm's table output (Dovecot's `doveadm-print-table.c`): each column as wide as its
/// widest value among the first 100 rows, right-justified where asked; a table wider than the
/// line has its columns shrunk toward their narrowest values, last column first; a narrower
/// one gives half of the room left to the last column.
pub fn table(headers: &[(&str, bool)], rows: &[Vec<String>], columns: usize) -> String {
    table_expanding(headers, rows, columns, headers.len().saturating_sub(1))
}

/// [`table`] where column `expand` (doveadm's `EXPAND` header flag) gets the room left.
pub fn table_expanding(
    headers: &[(&str, bool)],
    rows: &[Vec<String>],
    columns: usize,
    expand: usize,
) -> String {
    /// doveadm sizes its columns by the rows it buffered first.
    const SIZED_BY_ROWS: usize = 100;
    table_sized_by(headers, rows, columns, expand, SIZED_BY_ROWS)
}

/// [`table_expanding`] with the columns sized by the first `sized_by` rows only (a verb that
/// flushes doveadm's output after its first row, as `who` does, sizes them by that row).
pub fn table_sized_by(
    headers: &[(&str, bool)],
    rows: &[Vec<String>],
    columns: usize,
    expand: usize,
    sized_by: usize,
) -> String {
    let widths = column_widths(headers, rows, columns, expand, sized_by);
    let line = |values: Vec<&str>| {
        let cells: Vec<String> = values
            .iter()
            .zip(headers.iter().zip(&widths))
            .map(|(v, ((_, right), w))| {
                if *right {
                    format!("{v:>w$}")
                } else {
                    format!("{v:<w$}")
                }
            })
            .collect();
        format!("{}\n", cells.join(" "))
    };
    let mut out = line(headers.iter().map(|(t, _)| *t).collect());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_tables_shrink_as_doveadm_shrinks_them() {
        let titles = [
            "director ip",
            "port",
            "type",
            "last failed",
            "status",
            "ping ms",
            "input",
            "output",
            "buffered",
            "buffered peak",
            "last read",
            "last write",
        ];
        let headers: Vec<(&str, bool)> = titles.iter().map(|t| (*t, false)).collect();
        let row = [
            "",
            "0",
            "self",
            "never",
            "ring synced",
            "0",
            "-",
            "-",
            "-",
            "-",
            "-",
            "-",
        ];
        let rows = vec![row.iter().map(|v| v.to_string()).collect::<Vec<_>>()];
        // Byte for byte what doveadm 2.3.19.1 printed for `director ring status`.
        assert_eq!(
            table(&headers, &rows, 80),
            "director ip port type last failed status    ping ms input output buffered \
             buffered peak last read last write\n       0   self never    ring synced 0    \
             -   -    -     -       -     -     \n"
        );
    }

    #[test]
    fn tables_as_doveadm_prints_them() {
        let headers = [
            ("Quota name", false),
            ("Type", false),
            ("Value", true),
            ("Limit", true),
            ("%", true),
        ];
        let row = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // Byte for byte what doveadm 2.3.19.1 printed for these values.
        let out = table(
            &headers,
            &[
                row(&["User quota", "STORAGE", "11", "10", "110"]),
                row(&["User quota", "MESSAGE", "5", "5", "100"]),
            ],
            80,
        );
        assert_eq!(
            out,
            "Quota name Type    Value Limit                          %\n\
             User quota STORAGE    11    10                        110\n\
             User quota MESSAGE     5     5                        100\n"
        );
        let out = table(
            &headers,
            &[
                row(&["User quota", "STORAGE", "0", "10", "0"]),
                row(&["User quota", "MESSAGE", "0", "5", "0"]),
            ],
            80,
        );
        assert!(out.starts_with("Quota name Type    Value Limit                         %\n"));
    }
}
