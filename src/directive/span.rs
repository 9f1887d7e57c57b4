//! Where a piece of a job script is, so every message can point at it.

use serde::Serialize;

/// A stretch of the script: byte offset and length for slicing and rendering, 1-based line and
/// column (in characters) for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Span {
    /// Byte offset of the first byte in the script.
    pub offset: usize,
    /// Length in bytes (0 points between two characters).
    pub len: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
}

impl Span {
    /// The byte range, for slicing and rendering.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.len
    }
}
