//! What can be wrong with a directive, and the one renderer that shows it: `script:line:col`,
//! the line, the offending text underlined, and `help:`. `check`, `sbatch` and the burst buffer
//! all show the same text.

use std::fmt;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde::Serialize;

use super::span::Span;
use crate::options::backticked;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Nothing is planned while any error remains.
    Error,
    /// Worth fixing; planning goes on.
    Warning,
}

/// What is wrong. `Display` is the message; `help` says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DiagnosticKind {
    /// A quote is not closed on its line.
    UnterminatedQuote {
        /// `'` or `"`.
        quote: char,
    },
    /// A line ends with `\` but the next line is not a directive line.
    BrokenContinuation {
        /// The directive prefix.
        prefix: String,
    },
    /// `$NAME` names a variable directives cannot use.
    UnknownVariable {
        /// The name written.
        name: String,
        /// The nearest allowed name.
        suggestion: Option<String>,
    },
    /// `$` not followed by a variable name, or `${` not closed.
    BadDollar,
    /// `$(…)` or a backquote: commands are never run.
    CommandSubstitution,
    /// `%` followed by a letter that is not a Slurm symbol.
    UnknownPercent {
        /// What followed `%` (empty at the end of the word).
        found: String,
    },
    /// A directive line with no verb.
    MissingVerb,
    /// A verb other than `stage-in`, `stage-out` or `defaults`.
    UnknownVerb {
        /// The verb written.
        verb: String,
        /// The nearest verb.
        suggestion: Option<String>,
    },
    /// A stage directive without its source or destination.
    MissingLocation {
        /// The verb.
        verb: String,
        /// `source` or `destination`.
        missing: &'static str,
    },
    /// A word after the source and destination that is not an option.
    UnexpectedArgument {
        /// The verb.
        verb: String,
    },
    /// An empty source or destination (`""`).
    EmptyLocation,
    /// `NAME:PATH` with an empty name.
    EmptyCollectionName,
    /// An option directives do not have.
    UnknownOption {
        /// The option written.
        option: String,
        /// The nearest option.
        suggestion: Option<String>,
    },
    /// An option that takes a value was given none.
    MissingValue {
        /// The option.
        option: String,
    },
    /// A flag was given `=value`.
    UnexpectedValue {
        /// The option.
        option: String,
    },
    /// An option's value is not one of the accepted forms.
    InvalidValue {
        /// The option.
        option: String,
        /// What was written.
        value: String,
        /// What is accepted.
        expected: String,
        /// The nearest accepted value.
        suggestion: Option<String>,
    },
    /// A value that must be fixed text holds a job symbol.
    SymbolNotAllowed {
        /// The option.
        option: String,
    },
    /// An option this verb does not take.
    OptionNotAllowed {
        /// The option.
        option: String,
        /// The verb.
        verb: String,
        /// Where it belongs instead.
        hint: &'static str,
    },
    /// An option given twice, or together with its opposite.
    RepeatedOption {
        /// This occurrence.
        option: String,
        /// The earlier one.
        earlier: String,
        /// Line of the earlier one.
        earlier_line: usize,
    },
    /// Two options that cannot go together.
    ConflictingOptions {
        /// This option.
        option: String,
        /// The other one.
        other: String,
        /// Why.
        reason: &'static str,
    },
    /// `--checksum-algorithm` without `--external-checksum`.
    AlgorithmWithoutChecksum,
    /// A directive line after the script's first command: Slurm ignores it.
    AfterFirstCommand {
        /// The first command's line.
        command_line: usize,
    },
    /// `NAME:` names no configured alias and is not a UUID.
    UnknownCollection {
        /// The name.
        name: String,
        /// The nearest alias.
        suggestion: Option<String>,
        /// Every configured alias.
        known: Vec<String>,
    },
    /// A cluster path outside every mapped root.
    UnmappedPath {
        /// The absolute path.
        path: String,
        /// The mapped roots.
        roots: Vec<String>,
    },
    /// A cluster path is used but no cluster collection is configured.
    NoClusterCollection,
    /// A remote path that is not absolute.
    RelativeRemotePath {
        /// The path.
        path: String,
        /// The collection name as written.
        collection: String,
    },
    /// A symbol with no value for this job (for example `%a` outside a job array).
    SymbolUnavailable {
        /// The symbol.
        symbol: String,
        /// Why.
        reason: String,
    },
    /// The deadline is already past.
    DeadlinePast {
        /// The deadline, UTC.
        deadline: String,
    },
    /// Two directives write to the same place.
    DuplicateDestination {
        /// The destination.
        destination: String,
        /// Line of the first one.
        first_line: usize,
    },
    /// A directive repeats an earlier one exactly; it is planned once.
    DuplicateTransfer {
        /// Line of the first one.
        first_line: usize,
    },
}

impl fmt::Display for DiagnosticKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnterminatedQuote { quote } => write!(f, "unterminated quote `{quote}`"),
            Self::BrokenContinuation { prefix } => write!(
                f,
                "this line ends with `\\` but the next line does not start with `{prefix}`"
            ),
            Self::UnknownVariable { name, .. } => {
                write!(f, "`${name}` cannot be used in a directive")
            }
            Self::BadDollar => f.write_str("`$` must be followed by a variable name"),
            Self::CommandSubstitution => f.write_str("commands are never run in directives"),
            Self::UnknownPercent { found } if found.is_empty() => {
                f.write_str("`%` at the end of a word")
            }
            Self::UnknownPercent { found } => write!(f, "unknown symbol `%{found}`"),
            Self::MissingVerb => f.write_str("directive has no verb"),
            Self::UnknownVerb { verb, .. } => write!(f, "unknown verb `{verb}`"),
            Self::MissingLocation { verb, missing } => write!(f, "`{verb}` needs a {missing}"),
            Self::UnexpectedArgument { verb } => write!(
                f,
                "unexpected argument: `{verb}` takes a source and a destination"
            ),
            Self::EmptyLocation => f.write_str("empty location"),
            Self::EmptyCollectionName => f.write_str("empty collection name before `:`"),
            Self::UnknownOption { option, .. } => write!(f, "unknown option `{option}`"),
            Self::MissingValue { option } => write!(f, "`{option}` needs a value"),
            Self::UnexpectedValue { option } => write!(f, "`{option}` takes no value"),
            Self::InvalidValue { option, value, .. } => {
                write!(f, "invalid value `{value}` for `{option}`")
            }
            Self::SymbolNotAllowed { option } => {
                write!(f, "the value of `{option}` cannot use job symbols")
            }
            Self::OptionNotAllowed { option, verb, .. } => {
                write!(f, "`{option}` cannot be used with `{verb}`")
            }
            Self::RepeatedOption {
                option, earlier, ..
            } if option == earlier => write!(f, "`{option}` is given twice"),
            Self::RepeatedOption {
                option, earlier, ..
            } => write!(f, "`{option}` contradicts `{earlier}`"),
            Self::ConflictingOptions { option, other, .. } => {
                write!(f, "`{option}` cannot be used with `{other}`")
            }
            Self::AlgorithmWithoutChecksum => {
                f.write_str("`--checksum-algorithm` needs `--external-checksum`")
            }
            Self::AfterFirstCommand { command_line } => write!(
                f,
                "directive after the script's first command (line {command_line}) is ignored"
            ),
            Self::UnknownCollection { name, .. } => write!(f, "unknown collection `{name}`"),
            Self::UnmappedPath { path, .. } => {
                write!(f, "`{path}` is not in the cluster's Globus collection")
            }
            Self::NoClusterCollection => f.write_str(
                "cluster paths need the cluster's own collection, which is not configured",
            ),
            Self::RelativeRemotePath { path, .. } => {
                write!(f, "collection path `{path}` is not absolute")
            }
            Self::SymbolUnavailable { symbol, reason } => {
                write!(f, "the {symbol} has no value for this job: {reason}")
            }
            Self::DeadlinePast { deadline } => write!(f, "deadline `{deadline}` is in the past"),
            Self::DuplicateDestination {
                destination,
                first_line,
            } => write!(
                f,
                "`{destination}` is already the destination of the directive on line {first_line}"
            ),
            Self::DuplicateTransfer { first_line } => {
                write!(f, "same transfer as line {first_line}; it is planned once")
            }
        }
    }
}

impl DiagnosticKind {
    /// How to fix it.
    pub fn help(&self) -> Option<String> {
        let did_you_mean = |s: &Option<String>| s.as_ref().map(|s| format!("did you mean `{s}`?"));
        Some(match self {
            Self::UnterminatedQuote { quote } => format!("add the closing `{quote}`; a quoted word cannot span lines"),
            Self::BrokenContinuation { prefix } => format!(
                "start the next line with `{prefix}`, or remove the `\\`"
            ),
            Self::UnknownVariable { suggestion, .. } => {
                let allowed: Vec<String> =
                    super::word::Symbol::VARIABLES.iter().map(|(n, _)| format!("${n}")).collect();
                let base = format!(
                    "directives may use {} and `%j %A %a %u %x %d`; write `\\$` for a literal `$`",
                    backticked(&allowed)
                );
                match did_you_mean(suggestion) {
                    Some(d) => format!("{d} {base}"),
                    None => base,
                }
            }
            Self::BadDollar => "write `$NAME` or `${NAME}`, or `\\$` for a literal `$`".to_owned(),
            Self::CommandSubstitution => {
                "write the value itself; only `%j %A %a %u %x %d` and a few `$SLURM_*` variables are expanded".to_owned()
            }
            Self::UnknownPercent { .. } => {
                "symbols are `%j` (job id), `%A` (array job id), `%a` (array task id), `%u` (user), `%x` (job name), `%d` (working directory); write `%%` for a literal `%`".to_owned()
            }
            Self::MissingVerb | Self::UnknownVerb { suggestion: None, .. } => {
                "write `stage-in SOURCE DEST`, `stage-out SOURCE DEST` or `defaults OPTIONS`".to_owned()
            }
            Self::UnknownVerb { suggestion, .. } => did_you_mean(suggestion)?,
            Self::MissingLocation { verb, .. } => format!(
                "write `{verb} SOURCE DEST`, for example `{verb} cedar:/project/data/ ./data/`"
            ),
            Self::UnexpectedArgument { .. } => {
                "quote a path that holds spaces, and write options with a leading `--`".to_owned()
            }
            Self::EmptyLocation => "write a path, such as `./data/` or `cedar:/project/data/`".to_owned(),
            Self::EmptyCollectionName => {
                "write `ALIAS:PATH` or `UUID:PATH`; for a cluster path holding `:`, write `./a:b`".to_owned()
            }
            Self::UnknownOption { suggestion: Some(s), .. } => format!("did you mean `{s}`?"),
            Self::UnknownOption { .. } => {
                "directives take globus-cli's transfer options; see `gstage check --help`".to_owned()
            }
            Self::MissingValue { option } => {
                format!("write `{option} VALUE` or `{option}=VALUE`")
            }
            Self::UnexpectedValue { option } => format!("write `{option}` alone"),
            Self::InvalidValue {
                expected,
                suggestion,
                ..
            } => match did_you_mean(suggestion) {
                Some(d) => format!("{d} expected {expected}"),
                None => format!("expected {expected}"),
            },
            Self::SymbolNotAllowed { .. } => "write the value itself".to_owned(),
            Self::OptionNotAllowed { hint, .. } => (*hint).to_owned(),
            Self::RepeatedOption { earlier_line, .. } => {
                format!("keep one of them (the other is on line {earlier_line})")
            }
            Self::ConflictingOptions { reason, .. } => (*reason).to_owned(),
            Self::AlgorithmWithoutChecksum => {
                "add `--external-checksum VALUE`, or remove `--checksum-algorithm`".to_owned()
            }
            Self::AfterFirstCommand { .. } => {
                "move it above the first command, next to the `#SBATCH` lines".to_owned()
            }
            Self::UnknownCollection {
                suggestion, known, ..
            } => {
                let base = if known.is_empty() {
                    "no collection aliases are configured; write the collection's UUID, or add `[collections.NAME]` to the config".to_owned()
                } else {
                    format!("configured aliases: {}; or write the collection's UUID", backticked(known))
                };
                match did_you_mean(suggestion) {
                    Some(d) => format!("{d} {base}"),
                    None => base,
                }
            }
            Self::UnmappedPath { roots, .. } if roots.is_empty() => {
                "the config maps no cluster paths; add `[cluster] paths`".to_owned()
            }
            Self::UnmappedPath { roots, .. } => format!(
                "cluster paths must be under {}; use a path there, or a `NAME:PATH` location",
                backticked(roots)
            ),
            Self::NoClusterCollection => {
                "set `[cluster] collection` and `paths` in the config, or use `NAME:PATH` locations".to_owned()
            }
            Self::RelativeRemotePath { path, collection } => format!(
                "write `{collection}:/{path}`, or `{collection}:~/{path}` for a path in your home directory"
            ),
            Self::SymbolUnavailable { .. } => {
                "remove it, or give the value (see `gstage check --help`)".to_owned()
            }
            Self::DeadlinePast { .. } => {
                "give a later time, or a duration such as `2d`".to_owned()
            }
            Self::DuplicateDestination { .. } => {
                "give each directive its own destination, or merge them into one".to_owned()
            }
            Self::DuplicateTransfer { .. } => "remove one of the two lines".to_owned(),
        })
    }

    /// A short label for the underlined text.
    fn label(&self) -> Option<String> {
        match self {
            Self::UnknownVerb { .. } => Some("not a verb".to_owned()),
            Self::UnknownOption { .. } => Some("not an option".to_owned()),
            Self::UnknownCollection { .. } => Some("not an alias or UUID".to_owned()),
            Self::UnknownVariable { .. } => Some("not allowed here".to_owned()),
            Self::InvalidValue { .. } => Some("invalid".to_owned()),
            _ => None,
        }
    }
}

/// One finding, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The offending text.
    pub span: Span,
    /// What is wrong.
    #[serde(flatten)]
    pub kind: DiagnosticKind,
    /// The message, as shown.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(span: Span, kind: DiagnosticKind) -> Self {
        Self::new(Severity::Error, span, kind)
    }

    /// A warning at `span`.
    pub fn warning(span: Span, kind: DiagnosticKind) -> Self {
        Self::new(Severity::Warning, span, kind)
    }

    fn new(severity: Severity, span: Span, kind: DiagnosticKind) -> Self {
        Self {
            severity,
            span,
            message: kind.to_string(),
            help: kind.help(),
            kind,
        }
    }
}

/// Every finding in a script, in script order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    /// The errors.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.severity == Severity::Error)
    }

    /// The warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.severity == Severity::Warning)
    }

    /// Adds one.
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    /// Puts them in script order (stable: same place keeps finding order).
    pub fn sort(&mut self) {
        self.0.sort_by_key(|d| (d.span.offset, d.span.len));
    }

    /// Exit code when a script is rejected: invalid directive.
    pub fn exit_code(&self) -> i32 {
        crate::exit::USAGE
    }

    /// Renders every finding against the script: `path:line:col`, the line, the offending text
    /// underlined, and `help:`. `color` adds ANSI styles for terminals.
    pub fn render(&self, source: &str, path: &str, color: bool) -> String {
        let renderer = if color {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let mut out = String::new();
        for d in &self.0 {
            let level = match d.severity {
                Severity::Error => Level::ERROR,
                Severity::Warning => Level::WARNING,
            };
            let range = clamp(source, d.span.range());
            let mut annotation = AnnotationKind::Primary.span(range);
            if let Some(label) = d.kind.label() {
                annotation = annotation.label(label);
            }
            let mut group = level.primary_title(d.message.as_str()).element(
                Snippet::source(source)
                    .path(path)
                    .fold(true)
                    .annotation(annotation),
            );
            if let Some(help) = &d.help {
                group = group.element(Level::HELP.message(help.as_str()));
            }
            let report: [Group<'_>; 1] = [group];
            out.push_str(&renderer.render(&report));
            out.push_str("\n\n");
        }
        out
    }
}

/// Keeps a range inside the source and on character boundaries, so rendering never panics.
fn clamp(source: &str, range: std::ops::Range<usize>) -> std::ops::Range<usize> {
    let fix = |mut i: usize| {
        i = i.min(source.len());
        while !source.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let start = fix(range.start);
    let end = fix(range.end).max(start);
    start..end
}

impl fmt::Display for Diagnostics {
    /// One line per finding, `line:col: severity: message`, for logs and the burst buffer reason.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            let sev = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            write!(f, "{}:{}: {sev}: {}", d.span.line, d.span.column, d.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}
