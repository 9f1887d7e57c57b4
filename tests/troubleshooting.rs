//! docs/troubleshooting.md lists every message gstage can print, and this test keeps it so.
//!
//! It reads gstage's sources and finds each message template:
//! - the `#[error("…")]` text of every error enum variant;
//! - the `write!(f, "…")` / `f.write_str("…")` texts in `impl Display for …Error` and
//!   `…Kind` (the directive diagnostics, Globus' answers);
//! - `bail!("…")`, `anyhow!("…")`, `summary: …"…"` in commands, and `eprintln!("warning: …")`
//!   / `"note: …"`;
//! - the names of `gstage doctor`'s checks (`CheckResult::pass/fail/from_error("name", …)`).
//!
//! A template's identifying text is its longest literal piece between placeholders (`{…}`) and
//! line breaks; that piece must appear, word for word, in the document. Placeholders are free to
//! be written as `FILE`, `…` and so on. A new message without an entry fails this test with the
//! file, the line and the text to document.

use std::path::{Path, PathBuf};

/// A message template found in the sources.
#[derive(Debug)]
struct Template {
    file: PathBuf,
    line: usize,
    text: String,
}

impl Template {
    /// The longest literal piece, trimmed; `None` when the template is all placeholders.
    fn key(&self) -> Option<String> {
        let mut pieces = Vec::new();
        let mut piece = String::new();
        let mut chars = self.text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    piece.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    piece.push('}');
                }
                '{' => {
                    for d in chars.by_ref() {
                        if d == '}' {
                            break;
                        }
                    }
                    pieces.push(std::mem::take(&mut piece));
                }
                '\n' => pieces.push(std::mem::take(&mut piece)),
                c => piece.push(c),
            }
        }
        pieces.push(piece);
        pieces
            .into_iter()
            .map(|p| p.trim().to_owned())
            .max_by_key(|p| p.chars().count())
            .filter(|p| p.chars().count() >= 6)
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Reads the string literal starting at `start` (just after its opening quote): the unescaped
/// text and the index after the closing quote. Raw strings are not used for messages.
fn literal(src: &str, start: usize) -> Option<(String, usize)> {
    let mut text = String::new();
    let mut chars = src.get(start..)?.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((text, start + i + 1)),
            '\\' => match chars.next()?.1 {
                'n' => text.push('\n'),
                't' => text.push('\t'),
                '\n' => {
                    // A line continuation: skip the next line's indentation.
                    let rest = src.get(start + i + 2..)?;
                    let skip = rest.len() - rest.trim_start().len();
                    for _ in 0..rest.get(..skip)?.chars().count() {
                        chars.next();
                    }
                }
                other => text.push(other),
            },
            c => text.push(c),
        }
    }
    None
}

/// The string literal that is the first argument at `from`: after blanks, optionally inside
/// `format!(`.
fn next_literal(src: &str, from: usize) -> Option<(String, usize)> {
    let rest = src.get(from..)?;
    let mut skipped = rest.len() - rest.trim_start().len();
    let rest = rest.trim_start();
    // `write!(f, "…")`: the formatter comes first.
    let rest = match rest.strip_prefix("f,") {
        Some(after) => {
            skipped += 2 + after.len() - after.trim_start().len();
            after.trim_start()
        }
        None => rest,
    };
    let rest = match rest.strip_prefix("format!(") {
        Some(after) => {
            skipped += "format!(".len() + after.len() - after.trim_start().len();
            after.trim_start()
        }
        None => rest,
    };
    rest.starts_with('"')
        .then(|| literal(src, from + skipped + 1))
        .flatten()
}

fn line_of(src: &str, offset: usize) -> usize {
    src.get(..offset).map_or(0, |s| s.matches('\n').count()) + 1
}

/// Byte ranges of `impl … Display for NAME` blocks whose NAME ends with `Error` or `Kind`.
fn display_blocks(src: &str) -> Vec<(usize, usize)> {
    let mut blocks = Vec::new();
    let mut at = 0;
    while let Some(pos) = src.get(at..).and_then(|s| s.find("Display for ")) {
        let start = at + pos;
        at = start + 1;
        let name: String = src
            .get(start + "Display for ".len()..)
            .unwrap_or_default()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !(name.ends_with("Error") || name.ends_with("Kind")) {
            continue;
        }
        let Some(open) = src
            .get(start..)
            .and_then(|s| s.find('{'))
            .map(|o| start + o)
        else {
            continue;
        };
        let mut depth = 0usize;
        let mut end = open;
        for (i, c) in src.get(open..).unwrap_or_default().char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i;
                        break;
                    }
                }
                _ => {}
            }
        }
        blocks.push((open, end));
    }
    blocks
}

fn templates() -> Vec<Template> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let src = std::fs::read_to_string(&file).expect("source is readable");
        // Unit tests are not messages.
        let end = src.find("#[cfg(test)]").unwrap_or(src.len());
        let src = src.get(..end).unwrap_or(&src);
        let rel = file.strip_prefix(root).unwrap_or(&file).to_path_buf();
        let mut push = |offset: usize, text: String| {
            out.push(Template {
                file: rel.clone(),
                line: line_of(src, offset),
                text,
            });
        };
        let mut markers = vec!["#[error(", "bail!(", "anyhow!(", "summary: ", "eprintln!("];
        if rel.starts_with("src/doctor") {
            markers.extend([
                "CheckResult::pass(",
                "CheckResult::fail(",
                "CheckResult::from_error(",
            ]);
        }
        for marker in markers {
            let mut at = 0;
            while let Some(pos) = src.get(at..).and_then(|s| s.find(marker)) {
                let start = at + pos + marker.len();
                at = start;
                if src
                    .get(start..)
                    .is_some_and(|s| s.starts_with("transparent"))
                {
                    continue;
                }
                if let Some((text, _)) = next_literal(src, start) {
                    let printed = marker.starts_with("eprintln");
                    if printed && !(text.starts_with("warning:") || text.starts_with("note:")) {
                        continue;
                    }
                    push(start, text);
                }
            }
        }
        for (open, close) in display_blocks(src) {
            let block = src.get(open..close).unwrap_or_default();
            for marker in ["write!(", "write_str("] {
                let mut at = 0;
                while let Some(pos) = block.get(at..).and_then(|s| s.find(marker)) {
                    let start = at + pos + marker.len();
                    at = start;
                    if let Some((text, _)) = next_literal(block, start) {
                        push(open + start, text);
                    }
                }
            }
        }
    }
    out
}

#[test]
fn every_message_is_in_the_troubleshooting_doc() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/troubleshooting.md"))
        .expect("docs/troubleshooting.md exists");
    let templates = templates();
    assert!(
        templates.len() >= 80,
        "the sources were read: {} templates",
        templates.len()
    );
    let missing: Vec<String> = templates
        .iter()
        .filter_map(|t| {
            let key = t.key()?;
            (!doc.contains(&key)).then(|| {
                format!(
                    "{}:{}: `{key}`\n    from: {:?}",
                    t.file.display(),
                    t.line,
                    t.text
                )
            })
        })
        .collect();
    assert!(
        missing.is_empty(),
        "{} messages are not in docs/troubleshooting.md; add an entry with this text, what it means and the fix:\n{}",
        missing.len(),
        missing.join("\n")
    );
}

#[test]
fn the_extractor_finds_known_messages() {
    let keys: Vec<String> = templates().iter().filter_map(Template::key).collect();
    for known in [
        "cannot read config file `",
        "` is not in the cluster's Globus collection",
        "); a batch job cannot do this, so log in interactively with `",
        "no authorization code was entered; run `gstage login` again and paste the code the browser shows",
        "burst buffer directive",
    ] {
        assert!(
            keys.iter().any(|k| k == known),
            "`{known}` not found among {keys:#?}"
        );
    }
}
