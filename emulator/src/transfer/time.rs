//! Timestamps as clients send them: `2030-01-01 00:00:00` (globus-cli), ISO-8601 with or
//! without a zone, or a bare date. A time without a zone is UTC.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// Parses a client-supplied time; `None` when no accepted form matches.
pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%:z") {
        return Some(t.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_cli_and_iso_forms_alike() {
        let expected = parse_time("2030-01-01T00:00:00+00:00").expect("iso with zone");
        for text in [
            "2030-01-01 00:00:00",
            "2030-01-01T00:00:00",
            "2030-01-01T00:00:00Z",
            "2030-01-01",
            "2030-01-01 00:00:00+00:00",
            "2030-01-01T01:00:00+01:00",
        ] {
            assert_eq!(parse_time(text), Some(expected), "{text}");
        }
        assert_eq!(parse_time("next tuesday"), None);
        assert_eq!(parse_time("2030-13-01"), None);
    }
}
