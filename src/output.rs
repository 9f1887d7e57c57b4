//! Terminal manners shared by every command: colour only for a terminal (and never with
//! `NO_COLOR`), how chatty to be (`-q`/`-v`), text wrapped and tables shrunk to 80 columns so
//! output stays readable in a default terminal and in job logs.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use crate::env;

/// The width text and tables are fitted to: a default terminal, and what job logs are read in.
pub const WIDTH: usize = 80;

/// How much a command says, from `-q` and `-v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Verbosity {
    /// `-q`: errors only (and what was asked for, such as failed checks).
    Quiet,
    /// The default.
    #[default]
    Normal,
    /// `-v`: also log what gstage does, on standard error.
    Verbose,
    /// `-vv` and more: log everything, including each request to Globus.
    Trace,
}

impl Verbosity {
    /// From the global flags.
    pub fn from_flags(quiet: bool, verbose: u8) -> Self {
        match (quiet, verbose) {
            (true, _) => Self::Quiet,
            (false, 0) => Self::Normal,
            (false, 1) => Self::Verbose,
            (false, _) => Self::Trace,
        }
    }

    /// Whether the user asked for errors only.
    pub fn is_quiet(self) -> bool {
        self == Self::Quiet
    }
}

/// Sends gstage's log (the `tracing` events) to standard error at the level `-v` chose. Logging
/// stays off by default: a hook's standard error becomes a job's Reason, so it must hold only
/// the message. Log events never carry tokens (the client logs paths and codes only).
pub fn init_logging(verbosity: Verbosity) {
    let level = match verbosity {
        Verbosity::Quiet | Verbosity::Normal => return,
        Verbosity::Verbose => "gstage=debug",
        Verbosity::Trace => "gstage=trace,globus_emulator=debug",
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(level))
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Which stream a style is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Colours, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    color: bool,
}

impl Style {
    /// Plain text.
    pub const PLAIN: Style = Style { color: false };

    /// Colour when `stream` is a terminal, `NO_COLOR` is unset or empty, and `TERM` is not
    /// `dumb` (the no-color.org convention).
    pub fn detect(stream: Stream, process_env: &BTreeMap<String, String>) -> Style {
        let tty = match stream {
            Stream::Stdout => std::io::stdout().is_terminal(),
            Stream::Stderr => std::io::stderr().is_terminal(),
        };
        Style {
            color: tty && Self::env_allows_color(process_env),
        }
    }

    /// Whether the environment allows colour on a terminal.
    pub fn env_allows_color(process_env: &BTreeMap<String, String>) -> bool {
        let no_color = process_env
            .get(env::NO_COLOR)
            .is_some_and(|v| !v.is_empty());
        let dumb = process_env.get(env::TERM).is_some_and(|t| t == "dumb");
        !no_color && !dumb
    }

    /// Whether this style colours.
    pub fn is_color(self) -> bool {
        self.color
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Green: something is fine.
    pub fn good(self, text: &str) -> String {
        self.paint("32", text)
    }

    /// Bold red: something is wrong.
    pub fn bad(self, text: &str) -> String {
        self.paint("1;31", text)
    }

    /// Dim: secondary detail.
    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }

    /// Bold: headings and names.
    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    /// `✓` (green) or `✗` (red).
    pub fn mark(self, ok: bool) -> String {
        if ok {
            self.good("✓")
        } else {
            self.bad("✗")
        }
    }
}

/// Display width of text, counting characters (gstage prints no wide characters).
fn width(text: &str) -> usize {
    text.chars().count()
}

/// Wraps `text` at word boundaries so no line is longer than `max` characters (a single word
/// longer than that stays whole), starting the first line with `first` and the others with
/// `rest`. Existing line breaks are kept.
pub fn wrap(text: &str, max: usize, first: &str, rest: &str) -> String {
    let mut out = String::new();
    let mut prefix = first;
    for paragraph in text.split('\n') {
        let mut line = String::from(prefix);
        let mut empty = true;
        for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
            if !empty && width(&line) + 1 + width(word) > max {
                out.push_str(line.trim_end());
                out.push('\n');
                prefix = rest;
                line = String::from(prefix);
                empty = true;
            }
            if !empty {
                line.push(' ');
            }
            line.push_str(word);
            empty = false;
        }
        out.push_str(line.trim_end());
        out.push('\n');
        prefix = rest;
    }
    out
}

/// Shortens `text` to `max` characters, ending with `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// A table with a header row, columns separated by two spaces, fitted to `max` columns: while
/// too wide, the widest column is cut (its cells end with `…`). The last column is not padded.
pub fn table(headers: &[&str], rows: &[Vec<String>], max: usize) -> String {
    let columns = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| width(h)).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(cell));
        }
    }
    let gaps = 2 * columns.saturating_sub(1);
    while widths.iter().sum::<usize>() + gaps > max {
        let Some((widest, w)) = widths.iter().copied().enumerate().max_by_key(|&(_, w)| w) else {
            break;
        };
        if w <= 4 {
            break;
        }
        if let Some(slot) = widths.get_mut(widest) {
            *slot = w - 1;
        }
    }
    let mut out = String::new();
    let header: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, w) in widths.iter().enumerate() {
            let cell = truncate(row.get(i).map_or("", String::as_str), *w);
            if i + 1 < columns {
                line.push_str(&format!("{cell:<w$}  "));
            } else {
                line.push_str(&cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn no_color_and_dumb_terminals_turn_colour_off() {
        assert!(Style::env_allows_color(&env_of(&[])));
        assert!(Style::env_allows_color(&env_of(&[("NO_COLOR", "")])));
        assert!(!Style::env_allows_color(&env_of(&[("NO_COLOR", "1")])));
        assert!(!Style::env_allows_color(&env_of(&[("TERM", "dumb")])));
        assert_eq!(Style::PLAIN.mark(true), "✓");
        assert_eq!(Style::PLAIN.bad("x"), "x");
        assert_eq!(Style { color: true }.good("ok"), "\x1b[32mok\x1b[0m");
    }

    #[test]
    fn flags_choose_verbosity() {
        assert_eq!(Verbosity::from_flags(false, 0), Verbosity::Normal);
        assert_eq!(Verbosity::from_flags(true, 0), Verbosity::Quiet);
        assert_eq!(Verbosity::from_flags(false, 1), Verbosity::Verbose);
        assert_eq!(Verbosity::from_flags(false, 3), Verbosity::Trace);
    }

    #[test]
    fn wrapping_keeps_lines_within_the_width() {
        let text = "run `gstage login --collection cedar` to give the consent that this collection needs before staging";
        let out = wrap(text, 40, "  fix: ", "       ");
        assert!(out.lines().all(|l| width(l) <= 40), "{out}");
        assert!(out.starts_with("  fix: run"), "{out}");
        assert_eq!(
            out.split_whitespace().collect::<Vec<_>>().join(" "),
            format!("fix: {text}")
        );
        let long = "x".repeat(50);
        assert_eq!(wrap(&long, 10, "", ""), format!("{long}\n"));
    }

    #[test]
    fn tables_fit_the_width_by_cutting_the_widest_column() {
        let rows = vec![
            vec![
                "4242".to_owned(),
                "in".to_owned(),
                "SUCCEEDED".to_owned(),
                "/project/def-lab/a/very/long/path/that/would/not/fit/in/eighty/columns/at/all"
                    .to_owned(),
            ],
            vec![
                "4243".to_owned(),
                "out".to_owned(),
                "ACTIVE".to_owned(),
                "/x".to_owned(),
            ],
        ];
        let out = table(&["JOB", "DIR", "STATE", "DESTINATION"], &rows, WIDTH);
        assert!(out.lines().all(|l| width(l) <= WIDTH), "{out}");
        assert!(out.contains('…'), "{out}");
        assert!(
            out.starts_with("JOB   DIR  STATE      DESTINATION\n"),
            "{out}"
        );
        assert!(out.contains("4243  out  ACTIVE     /x\n"), "{out}");
    }

    #[test]
    fn truncation_marks_the_cut() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(truncate("abc", 0), "");
    }
}
