//! Words of a directive after shell-style splitting: literal text and job symbols, each symbol
//! kept with its span so the planner can point at it.

use std::fmt;

use serde::Serialize;

use super::span::Span;

/// A value that differs per job: Slurm's `%` symbols and the `$` variables allowed in
/// directives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Symbol {
    /// `%j`, `$SLURM_JOB_ID`.
    JobId,
    /// `%A`, `$SLURM_ARRAY_JOB_ID`.
    ArrayJobId,
    /// `%a`, `$SLURM_ARRAY_TASK_ID`.
    ArrayTaskId,
    /// `%u`, `$USER`.
    User,
    /// `%x`, `$SLURM_JOB_NAME`.
    JobName,
    /// `%d`: the job's working directory.
    WorkDir,
    /// `$SLURM_SUBMIT_DIR`.
    SubmitDir,
    /// `$SLURM_CLUSTER_NAME`.
    ClusterName,
    /// `$HOME`.
    Home,
}

impl Symbol {
    /// The `$NAME` variables a directive may use.
    pub const VARIABLES: [(&'static str, Symbol); 8] = [
        ("SLURM_JOB_ID", Symbol::JobId),
        ("SLURM_ARRAY_JOB_ID", Symbol::ArrayJobId),
        ("SLURM_ARRAY_TASK_ID", Symbol::ArrayTaskId),
        ("SLURM_JOB_NAME", Symbol::JobName),
        ("SLURM_SUBMIT_DIR", Symbol::SubmitDir),
        ("SLURM_CLUSTER_NAME", Symbol::ClusterName),
        ("USER", Symbol::User),
        ("HOME", Symbol::Home),
    ];

    /// The symbol a `%` letter stands for.
    pub fn from_percent(c: char) -> Option<Self> {
        Some(match c {
            'j' => Self::JobId,
            'A' => Self::ArrayJobId,
            'a' => Self::ArrayTaskId,
            'u' => Self::User,
            'x' => Self::JobName,
            'd' => Self::WorkDir,
            _ => return None,
        })
    }

    /// The symbol a `$NAME` stands for.
    pub fn from_variable(name: &str) -> Option<Self> {
        Self::VARIABLES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| *s)
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::JobId => "job id",
            Self::ArrayJobId => "array job id",
            Self::ArrayTaskId => "array task id",
            Self::User => "user name",
            Self::JobName => "job name",
            Self::WorkDir => "working directory",
            Self::SubmitDir => "submit directory",
            Self::ClusterName => "cluster name",
            Self::Home => "home directory",
        })
    }
}

/// Part of a word.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Piece {
    /// Text as written, quotes and escapes removed.
    Literal(String),
    /// A per-job value, expanded when planning.
    Symbol {
        /// Which value.
        symbol: Symbol,
        /// Where it is written.
        span: Span,
    },
}

/// One word of a directive: its pieces and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Word {
    /// Literal text and symbols, in order.
    pub pieces: Vec<Piece>,
    /// The word as written, quotes included.
    pub span: Span,
}

impl Word {
    /// The text when the word holds no symbol.
    pub fn literal(&self) -> Option<String> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) => out.push_str(s),
                Piece::Symbol { .. } => return None,
            }
        }
        Some(out)
    }

    /// The literal text before the first symbol.
    pub fn literal_prefix(&self) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) => out.push_str(s),
                Piece::Symbol { .. } => break,
            }
        }
        out
    }

    /// Whether the word ends with literal text ending in `c`.
    pub fn ends_with(&self, c: char) -> bool {
        matches!(self.pieces.last(), Some(Piece::Literal(s)) if s.ends_with(c))
    }

    /// Whether the word is empty (`""`).
    pub fn is_empty(&self) -> bool {
        self.pieces
            .iter()
            .all(|p| matches!(p, Piece::Literal(s) if s.is_empty()))
    }

    /// Drops the first `n` bytes of literal text (which must lie in leading literal pieces), for
    /// splitting `NAME:PATH` and `--opt=value`.
    #[must_use]
    pub fn skip_literal(&self, mut n: usize) -> Self {
        let mut pieces = Vec::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) if n > 0 => {
                    let cut = n.min(s.len());
                    n -= cut;
                    if let Some(rest) = s.get(cut..).filter(|r| !r.is_empty()) {
                        pieces.push(Piece::Literal(rest.to_owned()));
                    }
                }
                other => pieces.push(other.clone()),
            }
        }
        Self {
            pieces,
            span: self.span,
        }
    }

    /// Expands the symbols with `value`, stopping at the first one it cannot give.
    pub fn expand<E>(
        &self,
        mut value: impl FnMut(Symbol, Span) -> Result<String, E>,
    ) -> Result<String, E> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) => out.push_str(s),
                Piece::Symbol { symbol, span } => out.push_str(&value(*symbol, *span)?),
            }
        }
        Ok(out)
    }
}

impl fmt::Display for Word {
    /// The word with symbols written as `%` forms, for plans and messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) => f.write_str(s)?,
                Piece::Symbol { symbol, .. } => f.write_str(match symbol {
                    Symbol::JobId => "%j",
                    Symbol::ArrayJobId => "%A",
                    Symbol::ArrayTaskId => "%a",
                    Symbol::User => "%u",
                    Symbol::JobName => "%x",
                    Symbol::WorkDir => "%d",
                    Symbol::SubmitDir => "${SLURM_SUBMIT_DIR}",
                    Symbol::ClusterName => "${SLURM_CLUSTER_NAME}",
                    Symbol::Home => "${HOME}",
                })?,
            }
        }
        Ok(())
    }
}
