//! Exit codes, and the one place that maps an error to one.

/// A failed transfer, or any error without a more specific code.
pub const FAILURE: i32 = 1;
