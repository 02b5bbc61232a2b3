//! CSV downloads of report tables. Cells are quoted, and a cell that a
//! spreadsheet would run as a formula (a customer's search query, a label
//! an agent typed) is neutralised with a leading apostrophe.

use axum::http::header;
use axum::response::{IntoResponse, Response};

#[derive(Default)]
pub struct Csv(String);

impl Csv {
    pub fn new(header: &[&str]) -> Self {
        let mut c = Csv::default();
        c.row(header.iter().copied());
        c
    }

    pub fn row<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) {
        for (i, cell) in cells.into_iter().enumerate() {
            if i > 0 {
                self.0.push(',');
            }
            let v = cell.as_ref();
            let risky = v.starts_with(['=', '+', '-', '@', '\t', '\r']) && v.parse::<f64>().is_err();
            if !risky && !v.contains([',', '"', '\n', '\r']) {
                self.0.push_str(v);
                continue;
            }
            self.0.push('"');
            if risky {
                self.0.push('\'');
            }
            self.0.push_str(&v.replace('"', "\"\""));
            self.0.push('"');
        }
        self.0.push_str("\r\n");
    }

    /// As a download named `name`.csv.
    pub fn download(self, name: &str) -> Response {
        let name: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}.csv\""),
                ),
            ],
            self.0,
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_defuses_formulas() {
        let mut c = Csv::new(&["a", "b"]);
        c.row(["=HYPERLINK(\"x\")", "-12.5"]);
        c.row(["say \"hi\"", "@SUM(A1)"]);
        assert_eq!(
            c.0,
            "a,b\r\n\"'=HYPERLINK(\"\"x\"\")\",-12.5\r\n\"say \"\"hi\"\"\",\"'@SUM(A1)\"\r\n"
        );
    }
}
