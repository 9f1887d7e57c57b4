//! The values of transfer options, shared by directives, the config's `[defaults]` and the plan.
//! Each is built by `FromStr` (or serde, with the same spellings) so nothing downstream re-checks
//! strings.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// A value that is not one of the accepted spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not valid here; expected {expected}")]
pub struct InvalidValue {
    /// What was written.
    pub value: String,
    /// What is accepted, for people.
    pub expected: String,
    /// The nearest accepted spelling, if one is close.
    pub suggestion: Option<String>,
}

impl InvalidValue {
    fn one_of(value: &str, choices: &[&str]) -> Self {
        Self {
            value: value.to_owned(),
            expected: format!("one of {}", backticked(choices)),
            suggestion: nearest(value, choices.iter().copied()).map(str::to_owned),
        }
    }
}

/// Formats names as `` `a`, `b` or `c` `` for messages.
pub fn backticked<S: AsRef<str>>(names: &[S]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{}`", n.as_ref())).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&word, &c.to_ascii_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// How Globus decides whether a file needs copying (`--sync-level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncLevel {
    /// Copy files that do not exist at the destination.
    Exists,
    /// Also copy files whose size differs.
    Size,
    /// Also copy files whose source is newer.
    Mtime,
    /// Also copy files whose checksum differs.
    Checksum,
}

impl SyncLevel {
    const NAMES: [&'static str; 4] = ["exists", "size", "mtime", "checksum"];

    /// The integer the Transfer API expects on the wire.
    pub fn as_int(self) -> u8 {
        match self {
            Self::Exists => 0,
            Self::Size => 1,
            Self::Mtime => 2,
            Self::Checksum => 3,
        }
    }
}

impl FromStr for SyncLevel {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "exists" => Ok(Self::Exists),
            "size" => Ok(Self::Size),
            "mtime" => Ok(Self::Mtime),
            "checksum" => Ok(Self::Checksum),
            _ => Err(InvalidValue::one_of(s, &Self::NAMES)),
        }
    }
}

impl fmt::Display for SyncLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::NAMES[usize::from(self.as_int())])
    }
}

/// When a stage-out runs, relative to how the job ended (`--when`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum When {
    /// Only after the job succeeded.
    Success,
    /// Only after the job failed (for example, to keep logs of failures).
    Failure,
    /// Whatever the outcome: results and logs are never silently dropped.
    Always,
}

impl When {
    const NAMES: [&'static str; 3] = ["success", "failure", "always"];
}

impl FromStr for When {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "success" => Ok(Self::Success),
            "failure" => Ok(Self::Failure),
            "always" => Ok(Self::Always),
            _ => Err(InvalidValue::one_of(s, &Self::NAMES)),
        }
    }
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Always => "always",
        })
    }
}

/// Which way data moves relative to the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Before the job runs.
    In,
    /// After the job ends.
    Out,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::In => "in",
            Self::Out => "out",
        })
    }
}

/// Which task outcomes Globus sends email about (`--notify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub struct Notify {
    /// Mail when the task succeeds.
    pub on_succeeded: bool,
    /// Mail when the task fails.
    pub on_failed: bool,
    /// Mail when the task becomes inactive (needs attention).
    pub on_inactive: bool,
}

impl Notify {
    /// The service's default: mail on every outcome.
    pub const ALL: Self = Self {
        on_succeeded: true,
        on_failed: true,
        on_inactive: true,
    };
}

impl Default for Notify {
    fn default() -> Self {
        Self::ALL
    }
}

impl FromStr for Notify {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |value: &str| InvalidValue {
            value: value.to_owned(),
            expected: "`on`, `off`, or a comma-separated list of `succeeded`, `failed`, `inactive`"
                .to_owned(),
            suggestion: nearest(value, ["on", "off", "succeeded", "failed", "inactive"])
                .map(str::to_owned),
        };
        match s.to_ascii_lowercase().as_str() {
            "on" => return Ok(Self::ALL),
            "off" => {
                return Ok(Self {
                    on_succeeded: false,
                    on_failed: false,
                    on_inactive: false,
                });
            }
            _ => {}
        }
        let mut n = Self {
            on_succeeded: false,
            on_failed: false,
            on_inactive: false,
        };
        for part in s.split(',') {
            match part.trim().to_ascii_lowercase().as_str() {
                "succeeded" => n.on_succeeded = true,
                "failed" => n.on_failed = true,
                "inactive" => n.on_inactive = true,
                _ => return Err(invalid(part.trim())),
            }
        }
        Ok(n)
    }
}

impl TryFrom<String> for Notify {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl fmt::Display for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on: Vec<&str> = [
            (self.on_succeeded, "succeeded"),
            (self.on_failed, "failed"),
            (self.on_inactive, "inactive"),
        ]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
        .collect();
        match on.len() {
            0 => f.write_str("off"),
            3 => f.write_str("on"),
            _ => f.write_str(&on.join(",")),
        }
    }
}

/// A `--deadline`: an absolute time, or a duration counted from when the task is planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub enum DeadlineSpec {
    /// A fixed time (UTC unless an offset is given).
    At(DateTime<Utc>),
    /// This long after planning.
    After(TimeDelta),
}

impl DeadlineSpec {
    /// The absolute deadline for a task planned at `now`.
    pub fn resolve(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Self::At(t) => t,
            Self::After(d) => now + d,
        }
    }
}

impl FromStr for DeadlineSpec {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidValue {
            value: s.to_owned(),
            expected: "a time such as `2030-01-31`, `2030-01-31T18:00:00` or \
                       `2030-01-31T18:00:00+01:00` (UTC unless an offset is given), or a duration \
                       such as `6h`, `2d` or `1d12h` (units `s`, `m`, `h`, `d`, `w`)"
                .to_owned(),
            suggestion: None,
        };
        if let Some(d) = parse_duration(s) {
            return Ok(Self::After(d));
        }
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Ok(Self::At(t.with_timezone(&Utc)));
        }
        for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"] {
            if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
                return Ok(Self::At(t.and_utc()));
            }
        }
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return d
                .and_hms_opt(0, 0, 0)
                .map(|t| Self::At(t.and_utc()))
                .ok_or_else(invalid);
        }
        Err(invalid())
    }
}

impl TryFrom<String> for DeadlineSpec {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// Parses `90m`, `6h`, `1d12h`: one or more `<digits><unit>` groups, units `s m h d w`.
fn parse_duration(s: &str) -> Option<TimeDelta> {
    if s.is_empty() {
        return None;
    }
    let mut total = TimeDelta::zero();
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: i64 = digits.parse().ok()?;
        digits.clear();
        let part = match c {
            's' => TimeDelta::try_seconds(n),
            'm' => TimeDelta::try_minutes(n),
            'h' => TimeDelta::try_hours(n),
            'd' => TimeDelta::try_days(n),
            'w' => TimeDelta::try_weeks(n),
            _ => None,
        }?;
        total = total.checked_add(&part)?;
    }
    if !digits.is_empty() || total <= TimeDelta::zero() {
        return None;
    }
    Some(total)
}

/// Whether a filter rule keeps or drops what it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterMethod {
    /// `--include GLOB`.
    Include,
    /// `--exclude GLOB`.
    Exclude,
}

/// One `--include`/`--exclude` rule; rules are tried in order and the first match wins.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct FilterRule {
    /// Include or exclude.
    pub method: FilterMethod,
    /// The glob, matched against names.
    pub name: String,
}

/// A checksum algorithm for `--checksum-algorithm`, kept in the API's upper-case spelling.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ChecksumAlgorithm(String);

impl ChecksumAlgorithm {
    const NAMES: [&'static str; 6] = ["MD5", "SHA1", "SHA256", "SHA512", "ADLER32", "CRC32"];

    /// The API spelling.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ChecksumAlgorithm {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.to_ascii_uppercase();
        if Self::NAMES.contains(&upper.as_str()) {
            Ok(Self(upper))
        } else {
            Err(InvalidValue::one_of(s, &Self::NAMES))
        }
    }
}

/// Task options that can come from the config's `[defaults]`, a `defaults` directive or a
/// directive; each layer only sets what it names, and `overlay` puts one layer over another.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSettings {
    /// `--sync-level`.
    pub sync_level: Option<SyncLevel>,
    /// `--verify-checksum` / `--no-verify-checksum`.
    pub verify_checksum: Option<bool>,
    /// `--preserve-mtime`.
    pub preserve_mtime: Option<bool>,
    /// `--encrypt`.
    pub encrypt: Option<bool>,
    /// `--deadline`.
    pub deadline: Option<DeadlineSpec>,
    /// `--notify`.
    pub notify: Option<Notify>,
    /// `--skip-source-errors`.
    pub skip_source_errors: Option<bool>,
    /// `--fail-on-quota-errors`.
    pub fail_on_quota_errors: Option<bool>,
    /// `--delete-destination-extra` (never a config default: it deletes data).
    #[serde(skip)]
    pub delete_destination_extra: Option<bool>,
    /// `--include` / `--exclude`, in order.
    #[serde(skip)]
    pub filters: Vec<FilterRule>,
    /// `--optional` (stage-in only).
    pub optional: Option<bool>,
    /// `--when` (stage-out only).
    pub when: Option<When>,
}

impl TaskSettings {
    /// `over` on top of `self`: each value set in `over` wins; filter rules of `over` are tried
    /// before those of `self`, so a directive's own rules take precedence over its defaults.
    #[must_use]
    pub fn overlay(&self, over: &Self) -> Self {
        let mut filters = over.filters.clone();
        filters.extend(self.filters.iter().cloned());
        Self {
            sync_level: over.sync_level.or(self.sync_level),
            verify_checksum: over.verify_checksum.or(self.verify_checksum),
            preserve_mtime: over.preserve_mtime.or(self.preserve_mtime),
            encrypt: over.encrypt.or(self.encrypt),
            deadline: over.deadline.or(self.deadline),
            notify: over.notify.or(self.notify),
            skip_source_errors: over.skip_source_errors.or(self.skip_source_errors),
            fail_on_quota_errors: over.fail_on_quota_errors.or(self.fail_on_quota_errors),
            delete_destination_extra: over
                .delete_destination_extra
                .or(self.delete_destination_extra),
            filters,
            optional: over.optional.or(self.optional),
            when: over.when.or(self.when),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_levels_parse_in_any_case_and_suggest() {
        for (text, level) in [
            ("exists", SyncLevel::Exists),
            ("SIZE", SyncLevel::Size),
            ("mtime", SyncLevel::Mtime),
            ("Checksum", SyncLevel::Checksum),
        ] {
            assert_eq!(text.parse::<SyncLevel>(), Ok(level));
        }
        let err = "chksum".parse::<SyncLevel>().unwrap_err();
        assert_eq!(err.suggestion.as_deref(), Some("checksum"));
    }

    #[test]
    fn notify_forms() {
        let table = [
            ("on", (true, true, true)),
            ("off", (false, false, false)),
            ("failed", (false, true, false)),
            ("succeeded,inactive", (true, false, true)),
        ];
        for (text, (s, f, i)) in table {
            let n: Notify = text.parse().unwrap();
            assert_eq!(
                (n.on_succeeded, n.on_failed, n.on_inactive),
                (s, f, i),
                "{text}"
            );
        }
        assert!("failed,sometimes".parse::<Notify>().is_err());
        assert_eq!("failed".parse::<Notify>().unwrap().to_string(), "failed");
    }

    #[test]
    fn deadlines() {
        let now = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let table = [
            ("6h", "2030-01-01T06:00:00+00:00"),
            ("1d12h", "2030-01-02T12:00:00+00:00"),
            ("90m", "2030-01-01T01:30:00+00:00"),
            ("1w", "2030-01-08T00:00:00+00:00"),
            ("2030-02-03", "2030-02-03T00:00:00+00:00"),
            ("2030-02-03T04:05:06", "2030-02-03T04:05:06+00:00"),
            ("2030-02-03 04:05:06", "2030-02-03T04:05:06+00:00"),
            ("2030-02-03T04:05:06+01:00", "2030-02-03T03:05:06+00:00"),
        ];
        for (text, want) in table {
            let spec: DeadlineSpec = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(spec.resolve(now).to_rfc3339(), want, "{text}");
        }
        for bad in ["", "6", "h", "6x", "0h", "tomorrow", "2030-13-01"] {
            assert!(
                bad.parse::<DeadlineSpec>().is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn overlay_prefers_the_upper_layer_and_orders_filters() {
        let rule = |m, n: &str| FilterRule {
            method: m,
            name: n.to_owned(),
        };
        let lower = TaskSettings {
            sync_level: Some(SyncLevel::Size),
            encrypt: Some(true),
            filters: vec![rule(FilterMethod::Exclude, "*.tmp")],
            ..TaskSettings::default()
        };
        let upper = TaskSettings {
            sync_level: Some(SyncLevel::Checksum),
            filters: vec![rule(FilterMethod::Include, "keep.tmp")],
            ..TaskSettings::default()
        };
        let merged = lower.overlay(&upper);
        assert_eq!(merged.sync_level, Some(SyncLevel::Checksum));
        assert_eq!(merged.encrypt, Some(true));
        assert_eq!(
            merged.filters,
            vec![
                rule(FilterMethod::Include, "keep.tmp"),
                rule(FilterMethod::Exclude, "*.tmp")
            ]
        );
    }

    #[test]
    fn checksum_algorithms_are_upper_cased() {
        assert_eq!(
            "sha256".parse::<ChecksumAlgorithm>().unwrap().as_str(),
            "SHA256"
        );
        assert!("sha3".parse::<ChecksumAlgorithm>().is_err());
    }
}
