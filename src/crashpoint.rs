//! Named places where the crash-matrix tests make gstage die by `SIGKILL`.
//!
//! gstage promises that a `kill -9` at any moment loses nothing and never submits twice. A random
//! kill proves that only statistically; these points make every step boundary of staging, token
//! refresh and ledger writes a deterministic kill site. `GSTAGE_CRASH_AT=<point>[@<n>]` is read
//! once when a command starts; the `n`-th time (default 1) the process reaches `<point>`, it sends
//! `SIGKILL` to itself: no destructors, no flushing, no exit handlers, exactly like an outside
//! `kill -9` or a node losing power. The variable can only kill the process that carries it (it is
//! not passed to the processes a hook starts for a job's owner), so it grants nothing a user could
//! not do with `kill` already. Unset, a point costs one atomic load.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::exit::{self, Reported};

/// Every point, in the order a run reaches them. `docs/reliability.md` describes each.
pub const POINTS: &[&str] = &[
    "stage-in/planned",
    "stage-in/reserved",
    "stage-in/submitted",
    "stage-in/recorded",
    "stage-out/planned",
    "stage-out/reserved",
    "stage-out/submitted",
    "stage-out/recorded",
    "refresh/received",
    "tokens/written",
    "tokens/renamed",
    "ledger/before-commit",
    "ledger/after-commit",
];

/// The armed point and how many times it is passed before the kill.
struct Armed {
    point: &'static str,
    nth: u32,
    seen: AtomicU32,
}

static ARMED: OnceLock<Option<Armed>> = OnceLock::new();

/// Reads `GSTAGE_CRASH_AT` from the process environment (once; later calls change nothing). An
/// unknown point or count is a usage error, so a misspelt test cannot pass by never crashing.
pub fn arm(value: Option<&str>) -> Result<(), Reported> {
    let armed = match value.filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(parse(v)?),
    };
    let _ = ARMED.set(armed);
    Ok(())
}

fn parse(value: &str) -> Result<Armed, Reported> {
    let (name, nth) = match value.split_once('@') {
        Some((name, n)) => (name, n.parse::<u32>().ok().filter(|n| *n >= 1)),
        None => (value, Some(1)),
    };
    let point = POINTS.iter().find(|p| **p == name);
    match (point, nth) {
        (Some(point), Some(nth)) => Ok(Armed {
            point,
            nth,
            seen: AtomicU32::new(0),
        }),
        _ => Err(Reported {
            code: exit::USAGE,
            summary: format!(
                "`{}={value}` names no crash point; use one of {} (optionally `@N` for the N-th time it is reached), or unset it",
                crate::env::GSTAGE_CRASH_AT,
                POINTS.join(", ")
            ),
        }),
    }
}

/// Marks `point` as reached; dies here when it is the armed point's `n`-th time.
pub fn reached(point: &str) {
    let Some(Some(armed)) = ARMED.get() else {
        return;
    };
    if armed.point != point || armed.seen.fetch_add(1, Ordering::SeqCst) + 1 != armed.nth {
        return;
    }
    let _ = nix::sys::signal::kill(nix::unistd::Pid::this(), nix::sys::signal::Signal::SIGKILL);
    // SIGKILL cannot be caught or ignored; this only waits for its delivery.
    loop {
        std::thread::park();
    }
}

/// The staging points of one direction: `stage-in/<step>` or `stage-out/<step>`.
pub fn stage(direction: crate::options::Direction, step: &str) {
    if ARMED.get().is_some_and(Option::is_some) {
        reached(&format!("stage-{direction}/{step}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_parse_with_an_optional_count() {
        let a = parse("ledger/after-commit@3").expect("valid");
        assert_eq!((a.point, a.nth), ("ledger/after-commit", 3));
        let a = parse("tokens/renamed").expect("valid");
        assert_eq!((a.point, a.nth), ("tokens/renamed", 1));
    }

    #[test]
    fn unknown_points_and_counts_are_usage_errors_naming_the_points() {
        for bad in [
            "tokens/rename",
            "ledger/after-commit@0",
            "stage-in/planned@x",
        ] {
            let err = parse(bad).err().expect("refused");
            assert_eq!(err.code, exit::USAGE);
            assert!(err.summary.contains("stage-in/planned"), "{}", err.summary);
        }
    }

    #[test]
    fn every_staging_point_is_listed_for_both_directions() {
        for dir in ["in", "out"] {
            for step in ["planned", "reserved", "submitted", "recorded"] {
                assert!(POINTS.contains(&format!("stage-{dir}/{step}").as_str()));
            }
        }
    }
}
