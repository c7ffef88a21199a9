//! Plain-text tables and CSV for the CLI's reports.

use std::fmt::Write;

#[derive(Debug, Default, Clone)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Self {
        Self { headers: headers.iter().map(|h| h.to_string()).collect(), rows: Vec::new() }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Columns padded to their widest cell; columns of numbers (and their headers) right-aligned.
    pub fn text(&self) -> String {
        let is_number = |c: &str| !c.is_empty() && c.chars().all(|c| c.is_ascii_digit() || ".%-e".contains(c));
        let columns = 0..self.headers.len();
        let widths: Vec<usize> = columns
            .clone()
            .map(|i| {
                let cells = self.rows.iter().map(|r| r.get(i).map_or(0, |c| c.chars().count()));
                cells.chain([self.headers[i].len()]).max().unwrap_or(0)
            })
            .collect();
        let numeric: Vec<bool> = columns
            .map(|i| {
                let mut cells = self.rows.iter().filter_map(|r| r.get(i)).filter(|c| !c.is_empty()).peekable();
                cells.peek().is_some() && cells.all(|c| is_number(c))
            })
            .collect();
        let mut out = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = String::new();
            for (i, w) in widths.iter().enumerate() {
                let cell = row.get(i).map_or("", String::as_str);
                if numeric[i] {
                    let _ = write!(line, "{cell:>w$}  ");
                } else {
                    let _ = write!(line, "{cell:<w$}  ");
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// RFC 4180: fields with a comma, quote or newline are quoted.
    pub fn csv(&self) -> String {
        let field = |s: &str| {
            if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
        };
        let mut out = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            out.push_str(&row.iter().map(|c| field(c)).collect::<Vec<_>>().join(","));
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let mut t = Table::new(&["a", "b"]);
        t.row(vec!["x, y".into(), "say \"hi\"".into()]);
        assert_eq!(t.csv(), "a,b\n\"x, y\",\"say \"\"hi\"\"\"\n");
    }

    #[test]
    fn text_aligns_columns() {
        let mut t = Table::new(&["name", "n"]);
        t.row(vec!["long name".into(), "7".into()]);
        t.row(vec!["x".into(), "12".into()]);
        assert_eq!(t.text(), "name        n\nlong name   7\nx          12\n");
    }
}
