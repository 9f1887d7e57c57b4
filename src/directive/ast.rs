//! What a directive means once its words are understood, before any job's values are known.

use serde::Serialize;

use super::span::Span;
use super::word::Word;
use crate::collection::CollectionId;
use crate::options::{ChecksumAlgorithm, Direction, TaskSettings};

/// One `#GLOBUS` directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Directive {
    /// `defaults [options]`: options for the directives after it.
    Defaults(DefaultsDirective),
    /// `stage-in` or `stage-out`.
    Stage(Box<StageDirective>),
}

impl Directive {
    /// Where the directive's verb is.
    pub fn span(&self) -> Span {
        match self {
            Self::Defaults(d) => d.span,
            Self::Stage(s) => s.span,
        }
    }
}

/// `defaults [options]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultsDirective {
    /// The verb.
    pub span: Span,
    /// The options it sets.
    pub settings: TaskSettings,
    /// Where its `--deadline` value is, if any.
    pub deadline_span: Option<Span>,
}

/// `stage-in SOURCE DEST [options]` or `stage-out SOURCE DEST [options]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageDirective {
    /// In (before the job) or out (after it).
    pub direction: Direction,
    /// The verb.
    pub span: Span,
    /// Where data comes from.
    pub source: Location,
    /// Where it goes.
    pub destination: Location,
    /// Task options given on this line.
    pub settings: TaskSettings,
    /// Where its `--deadline` value is, if any.
    pub deadline_span: Option<Span>,
    /// `-r` (`Some(true)`), `--no-recursive` (`Some(false)`), or let the service decide.
    pub recursive: Option<bool>,
    /// `--label`, with symbols.
    pub label: Option<Word>,
    /// `--external-checksum`.
    pub external_checksum: Option<String>,
    /// `--checksum-algorithm`.
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
}

/// A source or destination, by rsync's rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Location {
    /// `NAME:PATH`: a path in a collection named by alias or UUID.
    Remote {
        /// The alias or UUID as written.
        name: String,
        /// Where the name is.
        name_span: Span,
        /// The UUID, when the name is one.
        id: Option<CollectionId>,
        /// The path after `:`.
        path: Word,
    },
    /// A path on the cluster, absolute or relative to the job's working directory.
    Cluster {
        /// The path.
        path: Word,
    },
}

impl Location {
    /// The whole location as written.
    pub fn span(&self) -> Span {
        match self {
            Self::Remote { path, .. } | Self::Cluster { path } => path.span,
        }
    }

    /// The path part.
    pub fn path(&self) -> &Word {
        match self {
            Self::Remote { path, .. } | Self::Cluster { path } => path,
        }
    }
}
