//! A Transfer request-rate limit shared by every gstage process of one user.
//!
//! Globus allows about 20 Transfer requests per second per user and answers 429 beyond it. One
//! process never comes close, but a 1000-element job array starts hundreds of hook or stage-in
//! processes at once, and each would back off only after being refused. So every process takes
//! a slot from one small state file (under the user's state directory, next to the ledger),
//! locked with `flock` while it is read and rewritten: the slots form one queue for all of them.
//!
//! The algorithm is a generic cell rate (a token bucket kept as one number): the file holds the
//! *theoretical arrival time* `tat`, when the queue would be empty again. A request may go at
//! `max(now, tat - tolerance)` and moves `tat` one interval (`1/rate`) past that. So at most
//! `burst` requests go at once, then `rate` per second, and in any one-second window at most
//! `burst + rate`. A process reserves its slot and sleeps until it, so the lock is held only for
//! the few microseconds of one read and one write. Slots are reserved at most [`HORIZON`] ahead:
//! when the queue is longer, the process reserves nothing, sleeps a random part of the horizon and
//! asks again. So a process killed while it waits (a hook cancelled, a node lost) wastes at most
//! the slot it held, and dead reservations can never pile up into a queue that starves the living.
//! A damaged or missing file counts as an empty queue; a file from a clock far in the future is
//! treated as empty so it can never stall anyone for long.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Requests per second gstage allows itself by default: with the default burst, no one-second
/// window holds more than 19, below the 20 per second Globus allows.
pub const DEFAULT_RATE: f64 = 15.0;
/// Requests that may go at once after a quiet spell.
pub const DEFAULT_BURST: u32 = 4;
/// How far ahead a slot may be reserved, in seconds.
pub const HORIZON: f64 = 2.0;

/// What a process got from the queue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Turn {
    /// A slot, this long from now.
    Slot(Duration),
    /// Nothing: the queue is longer than [`HORIZON`]; ask again after this long.
    Later(Duration),
}

/// Why the shared limit could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LimiterError {
    /// The state file could not be opened, locked, read or written.
    #[error(
        "cannot use the request-rate file `{path}`: {source}; fix the folder's ownership, or turn the shared limit off with `[limits] requests_per_second = 0`"
    )]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

impl LimiterError {
    /// A general failure.
    pub fn exit_code(&self) -> i32 {
        crate::exit::FAILURE
    }
}

/// The shared limit: a state file and its rate.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimiter {
    path: PathBuf,
    interval: f64,
    tolerance: f64,
}

impl RateLimiter {
    /// A limit of `rate` requests per second with bursts of `burst`, kept in `path`.
    /// `None` when `rate` is not a positive number (the limit is off).
    pub fn new(path: impl Into<PathBuf>, rate: f64, burst: u32) -> Option<RateLimiter> {
        if !(rate.is_finite() && rate > 0.0) {
            return None;
        }
        let interval = 1.0 / rate;
        Some(RateLimiter {
            path: path.into(),
            interval,
            tolerance: f64::from(burst.max(1) - 1) * interval,
        })
    }

    /// The state file's name for one Globus user of one Transfer service: `who` is what tells
    /// users apart (a token store path, a client id), hashed so no name leaks into the file name.
    pub fn file_name(transfer_url: &str, who: &str) -> String {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(format!("{transfer_url}\n{who}").as_bytes());
        let short: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!("transfer-rate-{short}")
    }

    /// The state file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the next slot and sleeps until it comes.
    pub async fn acquire(&self) -> Result<(), LimiterError> {
        loop {
            match self.reserve(now_secs())? {
                Turn::Slot(wait) => {
                    if !wait.is_zero() {
                        tokio::time::sleep(wait).await;
                    }
                    return Ok(());
                }
                Turn::Later(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Takes the next slot at time `now` (seconds since the epoch) if it is within
    /// [`HORIZON`], and says how long to wait for it (or before asking again).
    pub fn reserve(&self, now: f64) -> Result<Turn, LimiterError> {
        let io = |source| LimiterError::Io {
            path: self.path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&self.path)
            .map_err(io)?;
        file.lock().map_err(io)?;
        let result = self.reserve_locked(&mut file, now).map_err(io);
        // Closing the file releases the lock as well; an unlock error changes nothing.
        let _ = file.unlock();
        result
    }

    fn reserve_locked(&self, file: &mut File, now: f64) -> std::io::Result<Turn> {
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        let (slot, tat) = next_slot(read_tat(&text), now, self.interval, self.tolerance);
        if slot - now > HORIZON {
            return Ok(Turn::Later(Duration::from_secs_f64(
                HORIZON * (0.5 + 0.5 * jitter()),
            )));
        }
        file.seek(SeekFrom::Start(0))?;
        file.set_len(0)?;
        file.write_all(format!("{tat:.6}\n").as_bytes())?;
        Ok(Turn::Slot(Duration::from_secs_f64((slot - now).max(0.0))))
    }
}

/// A number in [0, 1) that differs between processes and moments, so waiters spread out.
fn jitter() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mixed = std::process::id().wrapping_mul(2_654_435_761) ^ nanos.wrapping_mul(40_503);
    f64::from(mixed % 1_000_000) / 1_000_000.0
}

/// The stored arrival time; anything unreadable counts as an empty queue.
fn read_tat(text: &str) -> f64 {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|t| t.is_finite() && *t >= 0.0)
        .unwrap_or(0.0)
}

/// The slot a request arriving at `now` gets, and the new arrival time. A stored time further
/// ahead than a day of queue (a clock that jumped back) is treated as empty.
fn next_slot(tat: f64, now: f64, interval: f64, tolerance: f64) -> (f64, f64) {
    let tat = if tat > now + 86_400.0 { now } else { tat };
    let slot = now.max(tat - tolerance);
    (slot, tat.max(slot) + interval)
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_goes_at_once_then_the_rate_holds() {
        let (interval, tolerance) = (0.1, 0.3);
        let mut tat = 0.0;
        let mut slots = Vec::new();
        for _ in 0..8 {
            let (slot, next) = next_slot(tat, 100.0, interval, tolerance);
            slots.push(slot);
            tat = next;
        }
        let waits: Vec<f64> = slots
            .iter()
            .map(|s| ((s - 100.0) * 100.0).round())
            .collect();
        assert_eq!(waits, [0.0, 0.0, 0.0, 0.0, 10.0, 20.0, 30.0, 40.0]);
    }

    #[test]
    fn a_quiet_spell_refills_and_garbage_counts_as_empty() {
        assert_eq!(read_tat("not a number"), 0.0);
        assert_eq!(read_tat("-5"), 0.0);
        assert_eq!(read_tat("12.5\n"), 12.5);
        let (slot, _) = next_slot(50.0, 100.0, 0.1, 0.3);
        assert_eq!(slot, 100.0);
        let (slot, _) = next_slot(1e12, 100.0, 0.1, 0.3);
        assert_eq!(slot, 100.0, "a clock that jumped back does not stall");
    }

    #[test]
    fn off_when_the_rate_is_not_positive() {
        assert!(RateLimiter::new("/nonexistent", 0.0, 4).is_none());
        assert!(RateLimiter::new("/nonexistent", f64::NAN, 4).is_none());
        assert!(RateLimiter::new("/nonexistent", 5.0, 4).is_some());
    }

    #[test]
    fn slots_are_shared_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rate");
        let a = RateLimiter::new(&path, 10.0, 2).unwrap();
        let b = RateLimiter::new(&path, 10.0, 2).unwrap();
        let turns: Vec<Turn> = (0..6)
            .map(|i| if i % 2 == 0 { &a } else { &b }.reserve(1000.0).unwrap())
            .collect();
        let ms: Vec<u128> = turns
            .iter()
            .map(|t| match t {
                Turn::Slot(d) => d.as_millis(),
                Turn::Later(_) => u128::MAX,
            })
            .collect();
        assert_eq!(ms, [0, 0, 100, 200, 300, 400]);
    }

    #[test]
    fn nothing_is_reserved_beyond_the_horizon() {
        let dir = tempfile::tempdir().unwrap();
        let limiter = RateLimiter::new(dir.path().join("rate"), 10.0, 1).unwrap();
        let slots = (0..40)
            .filter(|_| matches!(limiter.reserve(1000.0).unwrap(), Turn::Slot(_)))
            .count();
        // Slots up to two seconds ahead at 10 a second: 21 (now, then every 0.1 s up to 2 s).
        assert_eq!(slots, 21);
        let stored = std::fs::read_to_string(dir.path().join("rate")).unwrap();
        assert_eq!(
            read_tat(&stored),
            1002.1,
            "refused turns left the queue alone"
        );
    }

    /// The variable that makes [`one_process_takes_slots`] use the parent's file.
    const CHILD_FILE: &str = "GSTAGE_TEST_LIMITER_FILE";
    const CHILD_RATE: f64 = 100.0;
    const CHILD_BURST: u32 = 3;
    const CHILD_SLOTS: usize = 40;

    /// Takes slots from a rate file and prints their times; run alone it uses a file of its
    /// own and checks the slots one process gets, run by the test below it shares the parent's.
    #[test]
    fn one_process_takes_slots() {
        let own = tempfile::tempdir().unwrap();
        let path =
            std::env::var_os(CHILD_FILE).map_or_else(|| own.path().join("rate"), PathBuf::from);
        let limiter = RateLimiter::new(&path, CHILD_RATE, CHILD_BURST).unwrap();
        let mut slots = Vec::new();
        while slots.len() < CHILD_SLOTS {
            let now = now_secs();
            match limiter.reserve(now).unwrap() {
                Turn::Slot(wait) => slots.push(now + wait.as_secs_f64()),
                Turn::Later(wait) => std::thread::sleep(wait),
            }
        }
        println!(
            "SLOTS {}",
            slots
                .iter()
                .map(|s| format!("{s:.6}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert!(
            slots.windows(2).all(|w| w[1] >= w[0]),
            "slots never go back"
        );
        assert!(
            busiest_second(&slots) <= CHILD_BURST as usize + CHILD_RATE as usize,
            "one process alone keeps the rate"
        );
    }

    /// The most slots in any one-second window.
    fn busiest_second(slots: &[f64]) -> usize {
        let mut sorted = slots.to_vec();
        sorted.sort_by(f64::total_cmp);
        let mut best = 0;
        let mut start = 0;
        for end in 0..sorted.len() {
            while sorted[end] - sorted[start] >= 1.0 - 1e-6 {
                start += 1;
            }
            best = best.max(end - start + 1);
        }
        best
    }

    #[test]
    fn processes_share_one_queue() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rate");
        let exe = std::env::current_exe().unwrap();
        let children: Vec<_> = (0..8)
            .map(|_| {
                std::process::Command::new(&exe)
                    .args([
                        "--exact",
                        "globus::limiter::tests::one_process_takes_slots",
                        "--nocapture",
                        "--test-threads=1",
                    ])
                    .env(CHILD_FILE, &path)
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut slots = Vec::new();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "a child failed");
            let text = String::from_utf8_lossy(&out.stdout);
            let line = text
                .lines()
                .find_map(|l| l.split_once("SLOTS ").map(|(_, s)| s))
                .expect("a child printed its slots");
            slots.extend(line.split(' ').map(|s| s.parse::<f64>().unwrap()));
        }
        assert_eq!(slots.len(), 8 * CHILD_SLOTS);
        // Eight processes drawing at once still get one queue: never more than the burst plus
        // one second of rate in any second, where eight private buckets would allow eight times.
        let limit = CHILD_BURST as usize + CHILD_RATE as usize;
        assert!(
            busiest_second(&slots) <= limit,
            "{} slots in one second, more than {limit}",
            busiest_second(&slots)
        );
        let mut sorted = slots.clone();
        sorted.sort_by(f64::total_cmp);
        let spread = sorted.last().unwrap() - sorted.first().unwrap();
        assert!(
            spread >= (slots.len() - CHILD_BURST as usize) as f64 / CHILD_RATE - 0.5,
            "320 slots at 100 per second span about three seconds, not {spread}"
        );
    }
}
