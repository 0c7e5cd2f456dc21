//! Text the device prints: timestamps, relative times and tables.

use chrono::{DateTime, Local, Utc};

/// The local wall-clock time with milliseconds, e.g. `08:15:02.123`.
pub(crate) fn stamp() -> String {
    Local::now().format("%H:%M:%S%.3f").to_string()
}

/// `line` prefixed with the local arrival time.
pub(crate) fn stamped(line: impl std::fmt::Display) -> String {
    format!("{}  {line}", stamp())
}

/// How long before `now` `then` was, coarsely: `just now`, `42s ago`, `5m ago`.
pub(crate) fn ago(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - then).num_seconds();
    match seconds {
        s if s < 5 => "just now".to_owned(),
        s if s < 60 => format!("{s}s ago"),
        s if s < 3_600 => format!("{}m ago", s / 60),
        s if s < 86_400 => format!("{}h ago", s / 3_600),
        s => format!("{}d ago", s / 86_400),
    }
}

/// Left-aligned columns separated by two spaces, with a header row; trailing
/// blanks are trimmed.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(&widths) {
            let pad = width.saturating_sub(cell.chars().count());
            line.push_str(cell);
            line.extend(std::iter::repeat_n(' ', pad + 2));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn relative_times() {
        let now = Utc::now();
        assert_eq!(ago(now, now), "just now");
        assert_eq!(ago(now + Duration::seconds(3), now), "just now");
        assert_eq!(ago(now - Duration::seconds(42), now), "42s ago");
        assert_eq!(ago(now - Duration::minutes(5), now), "5m ago");
        assert_eq!(ago(now - Duration::hours(3), now), "3h ago");
        assert_eq!(ago(now - Duration::days(2), now), "2d ago");
    }

    #[test]
    fn aligned_table() {
        let rows = vec![
            vec![
                "ses_1".to_owned(),
                "Living Room TV".to_owned(),
                "(this device)".to_owned(),
            ],
            vec!["ses_22".to_owned(), "Café phone".to_owned(), String::new()],
        ];
        assert_eq!(
            table(&["SESSION", "NAME", ""], &rows),
            "SESSION  NAME\n\
             ses_1    Living Room TV  (this device)\n\
             ses_22   Café phone\n"
        );
    }
}
