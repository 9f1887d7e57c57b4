//! The directive language: `#GLOBUS` lines in a job script's leading comment block, split like
//! shell words, checked, and reported with every error at once. Pure: no I/O, no environment.

mod ast;
mod diagnostic;
mod lexer;
mod parser;
mod span;
mod word;

pub use ast::{DefaultsDirective, Directive, Location, StageDirective};
pub use diagnostic::{Diagnostic, DiagnosticKind, Diagnostics, Severity};
pub use span::Span;
pub use word::{Piece, Symbol, Word};

/// How to read a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// The directive prefix, `#GLOBUS` unless the site changed it.
    pub prefix: String,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self {
            prefix: crate::config::DEFAULT_PREFIX.to_owned(),
        }
    }
}

impl ParseOptions {
    /// The options a configuration asks for.
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            prefix: config.directive_prefix.clone(),
        }
    }
}

/// Everything found in a script: its directives as far as they could be read, and every error
/// and warning. The directives are only fit to plan when there is no error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Directives, in script order (one with a bad option keeps the rest of its meaning).
    pub directives: Vec<Directive>,
    /// Errors and warnings, in script order.
    pub diagnostics: Diagnostics,
}

/// Reads every directive of a script, keeping the valid ones and reporting the rest, so later
/// stages (planning) can add their own findings before anything is shown.
pub fn parse_all(script: &str, options: &ParseOptions) -> Parsed {
    let mut diagnostics = Diagnostics::default();
    let raw = lexer::lex(script, &options.prefix, &mut diagnostics);
    let directives = raw
        .iter()
        .filter_map(|r| parser::parse_directive(r, &mut diagnostics))
        .collect();
    diagnostics.sort();
    Parsed {
        directives,
        diagnostics,
    }
}

/// Reads every directive of a script: all of them, or every error found (warnings included).
pub fn parse(script: &str, options: &ParseOptions) -> Result<Vec<Directive>, Diagnostics> {
    let parsed = parse_all(script, options);
    if parsed.diagnostics.has_errors() {
        Err(parsed.diagnostics)
    } else {
        Ok(parsed.directives)
    }
}

#[cfg(test)]
mod tests;
