//! Showing a wait: a live bar on a terminal (files, bytes, rate, states), a line per change
//! otherwise (logs and pipes get a readable history, not control characters). Everything goes
//! to stderr, so `--format json` output on stdout stays clean.

use std::collections::BTreeMap;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use super::outcome::{ProgressMode, TaskView};

/// Progress display for one wait.
#[derive(Debug)]
pub struct Progress {
    mode: ProgressMode,
    bar: Option<ProgressBar>,
    shown: BTreeMap<String, String>,
    last: Option<(Instant, u64)>,
    rate: f64,
}

/// `1.5 MB` style sizes.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    #[allow(clippy::cast_precision_loss)]
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// One task on one line: `<task> <label>: ACTIVE, 3/10 files, 1.2 MB`.
pub fn task_line(v: &TaskView) -> String {
    let id = v
        .task_id
        .map_or_else(|| "(not submitted)".to_owned(), |t| t.to_string());
    let mut line = format!(
        "{id} \"{}\": {}, {}/{} files, {}",
        v.label,
        v.state,
        v.files_transferred,
        v.files.max(v.files_transferred),
        human_bytes(v.bytes_transferred)
    );
    if let Some(e) = &v.error {
        line.push_str(&format!(" — {e}"));
    }
    line
}

impl Progress {
    /// A display in `mode`.
    pub fn new(mode: ProgressMode) -> Self {
        let bar = (mode == ProgressMode::Bar).then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} files {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            bar
        });
        Progress {
            mode,
            bar,
            shown: BTreeMap::new(),
            last: None,
            rate: 0.0,
        }
    }

    /// Shows the latest views.
    pub fn update(&mut self, views: &[TaskView]) {
        let bytes: u64 = views.iter().map(|v| v.bytes_transferred).sum();
        let now = Instant::now();
        if let Some((at, before)) = self.last {
            let secs = now.duration_since(at).as_secs_f64();
            if secs > 0.0 && bytes >= before {
                #[allow(clippy::cast_precision_loss)]
                let r = (bytes - before) as f64 / secs;
                self.rate = r;
            }
        }
        self.last = Some((now, bytes));
        match self.mode {
            ProgressMode::Quiet => {}
            ProgressMode::Lines => {
                for v in views {
                    let key = v.task_id.map_or_else(|| v.label.clone(), |t| t.to_string());
                    let line = task_line(v);
                    if self.shown.get(&key) != Some(&line) {
                        eprintln!("{line}");
                        self.shown.insert(key, line);
                    }
                }
            }
            ProgressMode::Bar => {
                if let Some(bar) = &self.bar {
                    let files: u64 = views.iter().map(|v| v.files.max(v.files_transferred)).sum();
                    let done: u64 = views.iter().map(|v| v.files_transferred).sum();
                    bar.set_length(files);
                    bar.set_position(done);
                    let mut states: BTreeMap<&str, usize> = BTreeMap::new();
                    for v in views {
                        *states.entry(v.state.as_str()).or_default() += 1;
                    }
                    let states: Vec<String> =
                        states.iter().map(|(s, n)| format!("{n} {s}")).collect();
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    let rate = human_bytes(self.rate as u64);
                    bar.set_message(format!(
                        "{} at {rate}/s, {}",
                        human_bytes(bytes),
                        states.join(", ")
                    ));
                }
            }
        }
    }

    /// Ends the display, leaving the final state on screen.
    pub fn finish(&mut self, views: &[TaskView]) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
            for v in views {
                eprintln!("{}", task_line(v));
            }
        }
    }
}
