//! Gives words their meaning: the verb, the source and destination by rsync's rule, and
//! globus-cli's transfer options in both `--opt value` and `--opt=value` forms.

use std::collections::BTreeMap;

use super::ast::{DefaultsDirective, Directive, Location, StageDirective};
use super::diagnostic::{Diagnostic, DiagnosticKind, Diagnostics};
use super::lexer::RawDirective;
use super::span::Span;
use super::word::Word;
use crate::collection::CollectionId;
use crate::options::{
    ChecksumAlgorithm, DeadlineSpec, Direction, FilterMethod, FilterRule, InvalidValue, Notify,
    SyncLevel, TaskSettings, When, nearest,
};

/// The verbs, with the DataWarp spellings as aliases.
const VERBS: [(&str, Verb); 5] = [
    ("stage-in", Verb::StageIn),
    ("stage-out", Verb::StageOut),
    ("defaults", Verb::Defaults),
    ("stage_in", Verb::StageIn),
    ("stage_out", Verb::StageOut),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    StageIn,
    StageOut,
    Defaults,
}

impl Verb {
    fn name(self) -> &'static str {
        match self {
            Self::StageIn => "stage-in",
            Self::StageOut => "stage-out",
            Self::Defaults => "defaults",
        }
    }
}

/// Every option directives take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opt {
    Recursive,
    NoRecursive,
    SyncLevel,
    VerifyChecksum,
    NoVerifyChecksum,
    PreserveMtime,
    Encrypt,
    Label,
    Deadline,
    Notify,
    SkipSourceErrors,
    FailOnQuotaErrors,
    DeleteDestinationExtra,
    Include,
    Exclude,
    ExternalChecksum,
    ChecksumAlgorithm,
    Optional,
    When,
}

/// Spellings, globus-cli's names first; its aliases (`--preserve-timestamp`,
/// `--encrypt-data`, `-s`) are accepted too.
const SPELLINGS: [(&str, Opt); 23] = [
    ("--recursive", Opt::Recursive),
    ("-r", Opt::Recursive),
    ("--no-recursive", Opt::NoRecursive),
    ("--sync-level", Opt::SyncLevel),
    ("-s", Opt::SyncLevel),
    ("--verify-checksum", Opt::VerifyChecksum),
    ("--no-verify-checksum", Opt::NoVerifyChecksum),
    ("--preserve-mtime", Opt::PreserveMtime),
    ("--preserve-timestamp", Opt::PreserveMtime),
    ("--encrypt", Opt::Encrypt),
    ("--encrypt-data", Opt::Encrypt),
    ("--label", Opt::Label),
    ("--deadline", Opt::Deadline),
    ("--notify", Opt::Notify),
    ("--skip-source-errors", Opt::SkipSourceErrors),
    ("--fail-on-quota-errors", Opt::FailOnQuotaErrors),
    ("--delete-destination-extra", Opt::DeleteDestinationExtra),
    ("--include", Opt::Include),
    ("--exclude", Opt::Exclude),
    ("--external-checksum", Opt::ExternalChecksum),
    ("--checksum-algorithm", Opt::ChecksumAlgorithm),
    ("--optional", Opt::Optional),
    ("--when", Opt::When),
];

impl Opt {
    fn takes_value(self) -> bool {
        matches!(
            self,
            Self::SyncLevel
                | Self::Label
                | Self::Deadline
                | Self::Notify
                | Self::Include
                | Self::Exclude
                | Self::ExternalChecksum
                | Self::ChecksumAlgorithm
                | Self::When
        )
    }

    /// What the option sets; two options with one slot cannot both be given.
    /// `--include`/`--exclude` may repeat.
    fn slot(self) -> Option<&'static str> {
        Some(match self {
            Self::Recursive | Self::NoRecursive => "recursive",
            Self::VerifyChecksum | Self::NoVerifyChecksum => "verify",
            Self::Include | Self::Exclude => return None,
            Self::SyncLevel => "sync",
            Self::PreserveMtime => "mtime",
            Self::Encrypt => "encrypt",
            Self::Label => "label",
            Self::Deadline => "deadline",
            Self::Notify => "notify",
            Self::SkipSourceErrors => "skip",
            Self::FailOnQuotaErrors => "quota",
            Self::DeleteDestinationExtra => "delete",
            Self::ExternalChecksum => "checksum",
            Self::ChecksumAlgorithm => "algorithm",
            Self::Optional => "optional",
            Self::When => "when",
        })
    }

    /// Why this verb cannot take the option, if it cannot.
    fn refusal(self, verb: Verb) -> Option<&'static str> {
        match (self, verb) {
            (Self::Optional, Verb::StageOut) => {
                Some("`--optional` is for `stage-in`: the job runs even if that stage-in fails")
            }
            (Self::When, Verb::StageIn) => Some(
                "`--when` is for `stage-out`: it says whether to stage out after success, failure or always",
            ),
            (
                Self::Recursive
                | Self::NoRecursive
                | Self::Label
                | Self::ExternalChecksum
                | Self::ChecksumAlgorithm,
                Verb::Defaults,
            ) => Some(
                "this option belongs to one transfer; put it on the `stage-in`/`stage-out` line",
            ),
            _ => None,
        }
    }
}

/// The options of one directive as they are read.
#[derive(Default)]
struct Options {
    settings: TaskSettings,
    deadline_span: Option<Span>,
    recursive: Option<bool>,
    label: Option<Word>,
    external_checksum: Option<(String, Span)>,
    checksum_algorithm: Option<(ChecksumAlgorithm, Span)>,
}

/// Gives a lexed directive its meaning; reports what is wrong instead.
pub(crate) fn parse_directive(raw: &RawDirective, diags: &mut Diagnostics) -> Option<Directive> {
    let Some((verb_word, rest)) = raw.words.split_first() else {
        diags.push(Diagnostic::error(raw.prefix, DiagnosticKind::MissingVerb));
        return None;
    };
    let verb_text = verb_word.literal().unwrap_or_else(|| verb_word.to_string());
    let Some(verb) = VERBS
        .iter()
        .find(|(name, _)| *name == verb_text)
        .map(|(_, v)| *v)
    else {
        let suggestion =
            nearest(&verb_text, VERBS.iter().map(|(n, _)| *n).take(3)).map(str::to_owned);
        diags.push(Diagnostic::error(
            verb_word.span,
            DiagnosticKind::UnknownVerb {
                verb: verb_text,
                suggestion,
            },
        ));
        return None;
    };
    let (options, positionals) = read_options(verb, rest, diags);
    let directive = match verb {
        Verb::Defaults => {
            for extra in &positionals {
                diags.push(Diagnostic::error(
                    extra.span,
                    DiagnosticKind::UnexpectedArgument {
                        verb: verb.name().to_owned(),
                    },
                ));
            }
            Directive::Defaults(DefaultsDirective {
                span: verb_word.span,
                settings: options.settings,
                deadline_span: options.deadline_span,
            })
        }
        Verb::StageIn | Verb::StageOut => {
            let direction = if verb == Verb::StageIn {
                Direction::In
            } else {
                Direction::Out
            };
            stage(verb, direction, verb_word, &positionals, options, diags)?
        }
    };
    // Kept even when an option was wrong, so planning can still report problems with its
    // locations: all errors at once. Nothing is planned while any error remains.
    Some(directive)
}

fn stage(
    verb: Verb,
    direction: Direction,
    verb_word: &Word,
    positionals: &[&Word],
    options: Options,
    diags: &mut Diagnostics,
) -> Option<Directive> {
    for extra in positionals.iter().skip(2) {
        diags.push(Diagnostic::error(
            extra.span,
            DiagnosticKind::UnexpectedArgument {
                verb: verb.name().to_owned(),
            },
        ));
    }
    let missing = match positionals.len() {
        0 => Some("source and a destination"),
        1 => Some("destination"),
        _ => None,
    };
    if let Some(missing) = missing {
        let at = positionals.last().map_or(verb_word.span, |w| w.span);
        diags.push(Diagnostic::error(
            Span {
                offset: at.offset + at.len,
                len: 0,
                line: at.line,
                column: at.column + at.len,
            },
            DiagnosticKind::MissingLocation {
                verb: verb.name().to_owned(),
                missing,
            },
        ));
    }
    if let (Some(sum), Some(true)) = (&options.external_checksum, options.recursive) {
        diags.push(Diagnostic::error(
            sum.1,
            DiagnosticKind::ConflictingOptions {
                option: "--external-checksum".to_owned(),
                other: "--recursive".to_owned(),
                reason: "an external checksum belongs to one file; remove `--recursive`, or the checksum",
            },
        ));
    }
    if let (Some((_, span)), None) = (&options.checksum_algorithm, &options.external_checksum) {
        diags.push(Diagnostic::error(
            *span,
            DiagnosticKind::AlgorithmWithoutChecksum,
        ));
    }
    let source = positionals.first().and_then(|w| location(w, diags));
    let destination = positionals.get(1).and_then(|w| location(w, diags));
    Some(Directive::Stage(Box::new(StageDirective {
        direction,
        span: verb_word.span,
        source: source?,
        destination: destination?,
        settings: options.settings,
        deadline_span: options.deadline_span,
        recursive: options.recursive,
        label: options.label,
        external_checksum: options.external_checksum.map(|(s, _)| s),
        checksum_algorithm: options.checksum_algorithm.map(|(a, _)| a),
    })))
}

/// rsync's rule: `NAME:PATH` with a `:` before any `/` names a collection; anything else is a
/// cluster path.
fn location(word: &Word, diags: &mut Diagnostics) -> Option<Location> {
    if word.is_empty() {
        diags.push(Diagnostic::error(word.span, DiagnosticKind::EmptyLocation));
        return None;
    }
    let prefix = word.literal_prefix();
    let colon = prefix.find(':');
    let remote = match (colon, prefix.find('/')) {
        (Some(c), Some(s)) => c < s,
        (Some(_), None) => true,
        (None, _) => false,
    };
    let Some(c) = colon.filter(|_| remote) else {
        return Some(Location::Cluster { path: word.clone() });
    };
    let name = prefix.get(..c).unwrap_or_default().to_owned();
    if name.is_empty() {
        diags.push(Diagnostic::error(
            word.span,
            DiagnosticKind::EmptyCollectionName,
        ));
        return None;
    }
    let name_span = Span {
        len: name.len().min(word.span.len),
        ..word.span
    };
    Some(Location::Remote {
        id: name.parse::<CollectionId>().ok(),
        name,
        name_span,
        path: word.skip_literal(c + 1),
    })
}

/// Reads options, returning them and the positional words.
fn read_options<'w>(
    verb: Verb,
    words: &'w [Word],
    diags: &mut Diagnostics,
) -> (Options, Vec<&'w Word>) {
    let mut options = Options::default();
    let mut positionals = Vec::new();
    let mut seen: BTreeMap<&'static str, (&'static str, Span)> = BTreeMap::new();
    let mut end_of_options = false;
    let mut iter = words.iter();
    while let Some(word) = iter.next() {
        let prefix = word.literal_prefix();
        if end_of_options || !prefix.starts_with('-') || prefix.len() < 2 {
            positionals.push(word);
            continue;
        }
        if word.literal().as_deref() == Some("--") {
            end_of_options = true;
            continue;
        }
        let (name, inline) = match prefix.find('=') {
            Some(eq) => (
                prefix.get(..eq).unwrap_or_default().to_owned(),
                Some(word.skip_literal(eq + 1)),
            ),
            None => (prefix.clone(), None),
        };
        let Some((spelling, opt)) = SPELLINGS.iter().find(|(s, _)| *s == name).copied() else {
            let suggestion = nearest(
                &name,
                SPELLINGS
                    .iter()
                    .map(|(s, _)| *s)
                    .filter(|s| s.starts_with("--")),
            )
            .map(str::to_owned);
            // A misspelt option that takes a value keeps its value, so the value is not
            // reported again as a stray argument.
            let meant = suggestion
                .as_deref()
                .and_then(|s| SPELLINGS.iter().find(|(n, _)| *n == s));
            if inline.is_none() && meant.is_some_and(|(_, o)| o.takes_value()) {
                iter.next();
            }
            diags.push(Diagnostic::error(
                word.span,
                DiagnosticKind::UnknownOption {
                    option: name,
                    suggestion,
                },
            ));
            continue;
        };
        let value = if opt.takes_value() {
            match inline.or_else(|| iter.next().cloned()) {
                Some(v) => Some(v),
                None => {
                    diags.push(Diagnostic::error(
                        word.span,
                        DiagnosticKind::MissingValue {
                            option: spelling.to_owned(),
                        },
                    ));
                    continue;
                }
            }
        } else {
            if inline.is_some() {
                diags.push(Diagnostic::error(
                    word.span,
                    DiagnosticKind::UnexpectedValue {
                        option: spelling.to_owned(),
                    },
                ));
                continue;
            }
            None
        };
        if let Some(hint) = opt.refusal(verb) {
            diags.push(Diagnostic::error(
                word.span,
                DiagnosticKind::OptionNotAllowed {
                    option: spelling.to_owned(),
                    verb: verb.name().to_owned(),
                    hint,
                },
            ));
            continue;
        }
        if let Some(slot) = opt.slot() {
            if let Some((earlier, at)) = seen.get(slot) {
                diags.push(Diagnostic::error(
                    word.span,
                    DiagnosticKind::RepeatedOption {
                        option: spelling.to_owned(),
                        earlier: (*earlier).to_owned(),
                        earlier_line: at.line,
                    },
                ));
                continue;
            }
            seen.insert(slot, (spelling, word.span));
        }
        apply(opt, spelling, word, value, &mut options, diags);
    }
    (options, positionals)
}

/// The value's text; job symbols are refused where the value must be fixed.
fn fixed(option: &str, value: &Word, diags: &mut Diagnostics) -> Option<String> {
    let text = value.literal();
    if text.is_none() {
        diags.push(Diagnostic::error(
            value.span,
            DiagnosticKind::SymbolNotAllowed {
                option: option.to_owned(),
            },
        ));
    }
    text
}

/// Parses a fixed value, reporting a bad one.
fn typed<T: std::str::FromStr<Err = InvalidValue>>(
    option: &str,
    value: &Word,
    diags: &mut Diagnostics,
) -> Option<T> {
    let text = fixed(option, value, diags)?;
    match text.parse() {
        Ok(v) => Some(v),
        Err(e) => {
            diags.push(Diagnostic::error(
                value.span,
                DiagnosticKind::InvalidValue {
                    option: option.to_owned(),
                    value: e.value,
                    expected: e.expected,
                    suggestion: e.suggestion,
                },
            ));
            None
        }
    }
}

fn apply(
    opt: Opt,
    spelling: &str,
    word: &Word,
    value: Option<Word>,
    o: &mut Options,
    diags: &mut Diagnostics,
) {
    let s = &mut o.settings;
    let Some(value) = value else {
        match opt {
            Opt::Recursive => o.recursive = Some(true),
            Opt::NoRecursive => o.recursive = Some(false),
            Opt::VerifyChecksum => s.verify_checksum = Some(true),
            Opt::NoVerifyChecksum => s.verify_checksum = Some(false),
            Opt::PreserveMtime => s.preserve_mtime = Some(true),
            Opt::Encrypt => s.encrypt = Some(true),
            Opt::SkipSourceErrors => s.skip_source_errors = Some(true),
            Opt::FailOnQuotaErrors => s.fail_on_quota_errors = Some(true),
            Opt::DeleteDestinationExtra => s.delete_destination_extra = Some(true),
            Opt::Optional => s.optional = Some(true),
            _ => {}
        }
        return;
    };
    match opt {
        Opt::SyncLevel => s.sync_level = typed::<SyncLevel>(spelling, &value, diags),
        Opt::Notify => s.notify = typed::<Notify>(spelling, &value, diags),
        Opt::When => s.when = typed::<When>(spelling, &value, diags),
        Opt::Deadline => {
            s.deadline = typed::<DeadlineSpec>(spelling, &value, diags);
            o.deadline_span = Some(value.span);
        }
        Opt::ChecksumAlgorithm => {
            o.checksum_algorithm =
                typed::<ChecksumAlgorithm>(spelling, &value, diags).map(|a| (a, word.span));
        }
        Opt::Include | Opt::Exclude => {
            if let Some(name) = fixed(spelling, &value, diags) {
                let method = if opt == Opt::Include {
                    FilterMethod::Include
                } else {
                    FilterMethod::Exclude
                };
                s.filters.push(FilterRule { method, name });
            }
        }
        Opt::ExternalChecksum => {
            o.external_checksum = fixed(spelling, &value, diags).map(|c| (c, word.span));
        }
        Opt::Label => o.label = Some(value),
        _ => {}
    }
}
