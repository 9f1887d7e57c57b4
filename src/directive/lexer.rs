//! Finds directive lines in a script's leading comment block and splits them into words the way
//! a POSIX shell would (quotes, backslash escapes, `#` comments), recognising job symbols but
//! expanding nothing and running nothing.

use super::diagnostic::{Diagnostic, DiagnosticKind, Diagnostics};
use super::span::Span;
use super::word::{Piece, Symbol, Word};
use crate::options::nearest;

/// One line of the script.
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    /// 1-based.
    number: usize,
    /// Byte offset of its first byte in the script.
    start: usize,
    /// Its text without the line ending.
    text: &'a str,
}

impl Line<'_> {
    /// The span of bytes `from..to` of this line.
    fn span(&self, from: usize, to: usize) -> Span {
        let from = from.min(self.text.len());
        let to = to.clamp(from, self.text.len());
        let column = self.text.get(..from).map_or(from, |s| s.chars().count()) + 1;
        Span {
            offset: self.start + from,
            len: to - from,
            line: self.number,
            column,
        }
    }
}

fn split_lines(script: &str) -> Vec<Line<'_>> {
    let mut lines = Vec::new();
    let mut start = 0;
    for (i, raw) in script.split('\n').enumerate() {
        let text = raw.strip_suffix('\r').unwrap_or(raw);
        lines.push(Line {
            number: i + 1,
            start,
            text,
        });
        start += raw.len() + 1;
    }
    lines
}

/// Whether a line is a directive line: the prefix at column 1, then a blank or the line's end.
fn is_directive(text: &str, prefix: &str) -> bool {
    text.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace))
}

/// A directive's words, before their meaning is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawDirective {
    /// The prefix on its first line, to point at the directive as a whole.
    pub(crate) prefix: Span,
    /// The words after the prefix, across continuation lines.
    pub(crate) words: Vec<Word>,
}

/// Every directive line of the leading comment block, split into words; lines that cannot be
/// split are reported and left out. Directive lines after the block get a warning.
pub(crate) fn lex(script: &str, prefix: &str, diags: &mut Diagnostics) -> Vec<RawDirective> {
    let lines = split_lines(script);
    let mut first_command: Option<usize> = None;
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(line) = lines.get(i) {
        let trimmed = line.text.trim_start();
        if first_command.is_none() && !trimmed.is_empty() && !trimmed.starts_with('#') {
            first_command = Some(line.number);
        }
        if !is_directive(line.text, prefix) {
            i += 1;
            continue;
        }
        if let Some(command_line) = first_command {
            diags.push(Diagnostic::warning(
                line.span(0, prefix.len()),
                DiagnosticKind::AfterFirstCommand { command_line },
            ));
            i += 1;
            continue;
        }
        let (directive, consumed) = lex_directive(&lines, i, prefix, diags);
        out.extend(directive);
        i += consumed.max(1);
    }
    out
}

/// Builds one word as characters arrive.
struct WordBuilder {
    start: usize,
    end: usize,
    pieces: Vec<Piece>,
    text: String,
}

impl WordBuilder {
    fn new(start: usize) -> Self {
        Self {
            start,
            end: start,
            pieces: Vec::new(),
            text: String::new(),
        }
    }

    fn push(&mut self, c: char) {
        self.text.push(c);
    }

    fn symbol(&mut self, symbol: Symbol, span: Span) {
        if !self.text.is_empty() {
            self.pieces
                .push(Piece::Literal(std::mem::take(&mut self.text)));
        }
        self.pieces.push(Piece::Symbol { symbol, span });
    }

    fn finish(mut self, line: &Line<'_>) -> Word {
        if !self.text.is_empty() || self.pieces.is_empty() {
            self.pieces.push(Piece::Literal(self.text));
        }
        Word {
            pieces: self.pieces,
            span: line.span(self.start, self.end),
        }
    }
}

/// Lexes the directive starting at `lines[first]`; returns it (unless a quote or continuation
/// is broken) and how many lines it used.
fn lex_directive(
    lines: &[Line<'_>],
    first: usize,
    prefix: &str,
    diags: &mut Diagnostics,
) -> (Option<RawDirective>, usize) {
    let Some(first_line) = lines.get(first) else {
        return (None, 1);
    };
    let mut words = Vec::new();
    let mut idx = first;
    let mut broken = false;
    while let Some(line) = lines.get(idx) {
        let mut cursor = Cursor::new(line, prefix.len());
        let continued = cursor.words(&mut words, diags);
        broken |= cursor.broken;
        match continued {
            Some(backslash) => {
                if lines
                    .get(idx + 1)
                    .is_some_and(|next| is_directive(next.text, prefix))
                {
                    idx += 1;
                    continue;
                }
                diags.push(Diagnostic::error(
                    line.span(backslash, backslash + 1),
                    DiagnosticKind::BrokenContinuation {
                        prefix: prefix.to_owned(),
                    },
                ));
                broken = true;
                break;
            }
            None => break,
        }
    }
    let consumed = idx - first + 1;
    if broken {
        return (None, consumed);
    }
    let directive = RawDirective {
        prefix: first_line.span(0, prefix.len()),
        words,
    };
    (Some(directive), consumed)
}

/// Walks one line's characters after the prefix.
struct Cursor<'l, 'a> {
    line: &'l Line<'a>,
    chars: Vec<(usize, char)>,
    pos: usize,
    broken: bool,
}

impl<'l, 'a> Cursor<'l, 'a> {
    fn new(line: &'l Line<'a>, skip: usize) -> Self {
        let chars = line
            .text
            .char_indices()
            .filter(|(i, _)| *i >= skip)
            .collect();
        Self {
            line,
            chars,
            pos: 0,
            broken: false,
        }
    }

    fn peek(&self) -> Option<(usize, char)> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<(usize, char)> {
        let c = self.peek();
        self.pos += 1;
        c
    }

    /// Byte offset just past the last character taken.
    fn offset(&self) -> usize {
        self.chars
            .get(self.pos)
            .map_or(self.line.text.len(), |(i, _)| *i)
    }

    /// Splits the line into words, appending them; returns the byte offset of a trailing `\`
    /// (a continuation) if there is one.
    fn words(&mut self, words: &mut Vec<Word>, diags: &mut Diagnostics) -> Option<usize> {
        let mut word: Option<WordBuilder> = None;
        let mut continuation = None;
        while let Some((at, c)) = self.bump() {
            match c {
                c if c.is_whitespace() => {
                    if let Some(w) = word.take() {
                        words.push(w.finish(self.line));
                    }
                    continue;
                }
                '#' if word.is_none() => break,
                '\\' if self.peek().is_none() => {
                    continuation = Some(at);
                    break;
                }
                _ => {}
            }
            let w = word.get_or_insert_with(|| WordBuilder::new(at));
            match c {
                '\'' => {
                    if !self.single_quoted(w) {
                        diags.push(Diagnostic::error(
                            self.line.span(at, at + 1),
                            DiagnosticKind::UnterminatedQuote { quote: '\'' },
                        ));
                        self.broken = true;
                        return None;
                    }
                }
                '"' => {
                    if !self.double_quoted(w, diags) {
                        diags.push(Diagnostic::error(
                            self.line.span(at, at + 1),
                            DiagnosticKind::UnterminatedQuote { quote: '"' },
                        ));
                        self.broken = true;
                        return None;
                    }
                }
                '\\' => {
                    if let Some((_, next)) = self.bump() {
                        w.push(next);
                    }
                }
                '$' => self.dollar(at, w, diags),
                '%' => self.percent(at, w, diags),
                '`' => diags.push(Diagnostic::error(
                    self.line.span(at, at + 1),
                    DiagnosticKind::CommandSubstitution,
                )),
                other => w.push(other),
            }
            w.end = self.offset();
        }
        if let Some(w) = word.take() {
            words.push(w.finish(self.line));
        }
        continuation
    }

    fn single_quoted(&mut self, w: &mut WordBuilder) -> bool {
        while let Some((_, c)) = self.bump() {
            if c == '\'' {
                return true;
            }
            w.push(c);
        }
        false
    }

    fn double_quoted(&mut self, w: &mut WordBuilder, diags: &mut Diagnostics) -> bool {
        while let Some((at, c)) = self.bump() {
            match c {
                '"' => return true,
                '\\' => match self.peek() {
                    Some((_, next @ ('$' | '"' | '\\' | '%' | '`'))) => {
                        self.bump();
                        w.push(next);
                    }
                    _ => w.push('\\'),
                },
                '$' => self.dollar(at, w, diags),
                '%' => self.percent(at, w, diags),
                '`' => diags.push(Diagnostic::error(
                    self.line.span(at, at + 1),
                    DiagnosticKind::CommandSubstitution,
                )),
                other => w.push(other),
            }
        }
        false
    }

    /// `$NAME` or `${NAME}` after a `$` at byte `at`.
    fn dollar(&mut self, at: usize, w: &mut WordBuilder, diags: &mut Diagnostics) {
        let is_start = |c: char| c.is_ascii_alphabetic() || c == '_';
        let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let mut name = String::new();
        match self.peek() {
            Some((_, '{')) => {
                self.bump();
                loop {
                    match self.bump() {
                        Some((_, '}')) if !name.is_empty() => break,
                        Some((_, c)) if is_name(c) && (is_start(c) || !name.is_empty()) => {
                            name.push(c);
                        }
                        _ => {
                            diags.push(Diagnostic::error(
                                self.line.span(at, self.offset()),
                                DiagnosticKind::BadDollar,
                            ));
                            return;
                        }
                    }
                }
            }
            Some((_, '(')) => {
                diags.push(Diagnostic::error(
                    self.line.span(at, at + 2),
                    DiagnosticKind::CommandSubstitution,
                ));
                self.bump();
                return;
            }
            Some((_, c)) if is_start(c) => {
                while let Some((_, c)) = self.peek().filter(|(_, c)| is_name(*c)) {
                    name.push(c);
                    self.bump();
                }
            }
            _ => {
                diags.push(Diagnostic::error(
                    self.line.span(at, at + 1),
                    DiagnosticKind::BadDollar,
                ));
                return;
            }
        }
        let span = self.line.span(at, self.offset());
        match Symbol::from_variable(&name) {
            Some(symbol) => w.symbol(symbol, span),
            None => {
                let suggestion = nearest(&name, Symbol::VARIABLES.iter().map(|(n, _)| *n))
                    .map(|s| format!("${s}"));
                diags.push(Diagnostic::error(
                    span,
                    DiagnosticKind::UnknownVariable { name, suggestion },
                ));
            }
        }
    }

    /// `%j` and friends after a `%` at byte `at`.
    fn percent(&mut self, at: usize, w: &mut WordBuilder, diags: &mut Diagnostics) {
        match self.peek() {
            Some((_, '%')) => {
                self.bump();
                w.push('%');
            }
            Some((_, c)) => {
                self.bump();
                let span = self.line.span(at, self.offset());
                match Symbol::from_percent(c) {
                    Some(symbol) => w.symbol(symbol, span),
                    None => diags.push(Diagnostic::error(
                        span,
                        DiagnosticKind::UnknownPercent {
                            found: c.to_string(),
                        },
                    )),
                }
            }
            None => diags.push(Diagnostic::error(
                self.line.span(at, at + 1),
                DiagnosticKind::UnknownPercent {
                    found: String::new(),
                },
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> (Vec<String>, Diagnostics) {
        let mut d = Diagnostics::default();
        let raw = lex(line, "#GLOBUS", &mut d);
        let words = raw
            .iter()
            .flat_map(|r| r.words.iter().map(ToString::to_string))
            .collect();
        (words, d)
    }

    #[test]
    fn shell_words() {
        let table: [(&str, &[&str]); 12] = [
            ("#GLOBUS a b  c", &["a", "b", "c"]),
            ("#GLOBUS 'a b' c", &["a b", "c"]),
            ("#GLOBUS \"a b\"c", &["a bc"]),
            ("#GLOBUS a\\ b", &["a b"]),
            ("#GLOBUS 'it''s'", &["its"]),
            ("#GLOBUS \"say \\\"hi\\\"\"", &["say \"hi\""]),
            ("#GLOBUS a # a comment", &["a"]),
            ("#GLOBUS a#b", &["a#b"]),
            ("#GLOBUS run_%j/x", &["run_%j/x"]),
            ("#GLOBUS '%j' \\%j %%", &["%j", "%j", "%"]),
            ("#GLOBUS $HOME/${USER}", &["${HOME}/%u"]),
            ("#GLOBUS '$HOME' \\$x", &["$HOME", "$x"]),
        ];
        for (line, want) in table {
            let (got, d) = words(line);
            assert!(!d.has_errors(), "{line}: {d}");
            assert_eq!(got, want, "{line}");
        }
    }

    #[test]
    fn continuation_joins_lines_and_keeps_spans() {
        let script = "#!/bin/bash\n#GLOBUS stage-in a \\\n#GLOBUS   b --sync-level size\necho hi\n";
        let mut d = Diagnostics::default();
        let raw = lex(script, "#GLOBUS", &mut d);
        assert!(d.0.is_empty(), "{d}");
        assert_eq!(raw.len(), 1);
        let texts: Vec<String> = raw[0].words.iter().map(ToString::to_string).collect();
        assert_eq!(texts, ["stage-in", "a", "b", "--sync-level", "size"]);
        let b = &raw[0].words[2];
        assert_eq!((b.span.line, b.span.column), (3, 11));
        assert_eq!(&script[b.span.range()], "b");
    }

    /// (script, line, column, what kind of error)
    #[test]
    fn lexing_errors_point_at_the_text() {
        let table: [(&str, usize, usize, &str); 9] = [
            ("#GLOBUS a 'b", 1, 11, "UnterminatedQuote"),
            ("#GLOBUS a \"b", 1, 11, "UnterminatedQuote"),
            ("#GLOBUS a \\\necho", 1, 11, "BrokenContinuation"),
            ("#GLOBUS a \\", 1, 11, "BrokenContinuation"),
            ("#GLOBUS x/$SCRATCH/y", 1, 11, "UnknownVariable"),
            ("#GLOBUS x/${SLURM_JOBID}", 1, 11, "UnknownVariable"),
            ("#GLOBUS x/$(whoami)", 1, 11, "CommandSubstitution"),
            ("#GLOBUS x/%q", 1, 11, "UnknownPercent"),
            ("#GLOBUS x/${", 1, 11, "BadDollar"),
        ];
        for (script, line, column, kind) in table {
            let mut d = Diagnostics::default();
            lex(script, "#GLOBUS", &mut d);
            let e = d
                .errors()
                .next()
                .unwrap_or_else(|| panic!("{script}: no error"));
            assert_eq!((e.span.line, e.span.column), (line, column), "{script}");
            assert!(
                format!("{:?}", e.kind).starts_with(kind),
                "{script}: {:?}",
                e.kind
            );
        }
    }

    #[test]
    fn unknown_variable_suggests_the_allowed_one() {
        let mut d = Diagnostics::default();
        lex("#GLOBUS $SLURM_JOBID", "#GLOBUS", &mut d);
        let e = d.errors().next().unwrap();
        assert_eq!(
            e.kind,
            DiagnosticKind::UnknownVariable {
                name: "SLURM_JOBID".to_owned(),
                suggestion: Some("$SLURM_JOB_ID".to_owned())
            }
        );
    }

    #[test]
    fn only_the_leading_comment_block_counts() {
        let script = "#!/bin/bash\n\n#SBATCH -t 1\n#GLOBUS a\n  # indented comment\n#GLOBUSX no\nmodule load x\n#GLOBUS late\n";
        let mut d = Diagnostics::default();
        let raw = lex(script, "#GLOBUS", &mut d);
        assert_eq!(raw.len(), 1);
        let warnings: Vec<_> = d.warnings().collect();
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].span.line, 8);
        assert_eq!(
            warnings[0].kind,
            DiagnosticKind::AfterFirstCommand { command_line: 7 }
        );
    }

    #[test]
    fn custom_prefix_and_crlf() {
        let mut d = Diagnostics::default();
        let raw = lex("#XFER a b\r\n#GLOBUS c\r\n", "#XFER", &mut d);
        assert_eq!(raw.len(), 1);
        assert_eq!(raw[0].words.len(), 2);
        assert_eq!(raw[0].words[1].to_string(), "b");
    }
}
