//! Runs tasks in the background: waits for one of the owner's slots, plans the work, copies
//! at the configured throughput, and keeps the task document's counters current.

mod copy;
mod filter;
mod plan;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use uuid::Uuid;

use crate::store::Shared;
use crate::task::{Task, TaskStatus};
use plan::{Op, Plan, Request};

/// How often a waiting task re-checks, besides being woken.
const POLL: Duration = Duration::from_millis(200);

/// Starts the background runner of a newly accepted task.
pub(crate) fn spawn(shared: Arc<Shared>, id: Uuid) {
    tokio::spawn(async move {
        run(&shared, id).await;
        shared.wakeup.notify_waiters();
    });
}

/// What the runner may do next.
enum Gate {
    Go,
    Stop,
}

/// Applies `f` to the task under the lock.
fn with_task<R>(shared: &Shared, id: Uuid, f: impl FnOnce(&mut Task) -> R) -> Option<R> {
    let mut store = shared.store();
    store.task_mut(id).map(f)
}

async fn pause(shared: &Shared, duration: Duration) {
    tokio::select! {
        () = shared.wakeup.notified() => {}
        () = tokio::time::sleep(duration) => {}
    }
}

/// Waits while the task is INACTIVE; stops when it ended (cancel) or its deadline passed.
async fn gate(shared: &Shared, id: Uuid) -> Gate {
    loop {
        let state = with_task(shared, id, |t| {
            if t.status.is_finished() {
                return Some(Gate::Stop);
            }
            if Utc::now() >= t.deadline {
                expire(t);
                return Some(Gate::Stop);
            }
            (t.status == TaskStatus::Active).then_some(Gate::Go)
        });
        match state {
            None | Some(Some(Gate::Stop)) => return Gate::Stop,
            Some(Some(Gate::Go)) => return Gate::Go,
            Some(None) => pause(shared, POLL).await,
        }
    }
}

fn expire(t: &mut Task) {
    t.event(
        "DEADLINE_EXCEEDED",
        "deadline exceeded",
        "The task deadline has passed",
        true,
    );
    t.finish(
        TaskStatus::Failed,
        Some(("DEADLINE_EXCEEDED", "The task deadline has passed")),
    );
}

/// Waits for a free slot among the owner's running tasks (oldest queued task first).
async fn acquire_slot(shared: &Shared, id: Uuid) -> Gate {
    let limit = shared.config.active_task_limit;
    loop {
        {
            let mut store = shared.store();
            let Some(task) = store.task(id) else {
                return Gate::Stop;
            };
            if task.status.is_finished() {
                return Gate::Stop;
            }
            let owner = task.owner_id;
            let runnable = task.status == TaskStatus::Active;
            let running = store
                .tasks
                .iter()
                .filter(|t| t.owner_id == owner && t.running)
                .count();
            let older_waiting = store
                .tasks
                .iter()
                .take_while(|t| t.id != id)
                .any(|t| t.owner_id == owner && t.status == TaskStatus::Active && !t.running);
            let Some(task) = store.task_mut(id) else {
                return Gate::Stop;
            };
            if Utc::now() >= task.deadline {
                expire(task);
                return Gate::Stop;
            }
            if runnable && running < limit && !older_waiting {
                task.running = true;
                let now_running = u64::try_from(running + 1).unwrap_or(u64::MAX);
                store.stats.peak_running_per_user =
                    store.stats.peak_running_per_user.max(now_running);
                let Some(task) = store.task_mut(id) else {
                    return Gate::Stop;
                };
                task.nice_status = Some("OK".to_owned());
                task.start_time = Some(std::time::Instant::now());
                task.event(
                    "STARTED",
                    "started",
                    "{\n  \"type\": \"GridFTP Transfer\",\n  \"concurrency\": 2,\n  \"parallelism\": 4,\n  \"pipelining\": 20\n}",
                    false,
                );
                return Gate::Go;
            }
        }
        pause(shared, POLL).await;
    }
}

/// The local roots of a task's collections.
fn roots(shared: &Shared, task: &Task) -> Option<(PathBuf, PathBuf)> {
    let find = |id: Uuid| {
        shared
            .config
            .collections
            .iter()
            .find(|c| c.id == id)
            .map(|c| shared.config.root_of(c))
    };
    Some((find(task.source)?, find(task.destination)?))
}

fn retry_interval(shared: &Shared) -> Duration {
    Duration::from_secs_f64(shared.config.error_retry_seconds)
}

/// Plans the task, retrying while a source is missing (unless errors are skipped).
async fn plan_with_retries(shared: &Shared, id: Uuid) -> Option<Plan> {
    loop {
        if matches!(gate(shared, id).await, Gate::Stop) {
            return None;
        }
        let task = shared.store().task(id).cloned()?;
        let (src_root, dst_root) = roots(shared, &task)?;
        let plan = tokio::task::spawn_blocking(move || {
            plan::plan(&Request {
                src_root: &src_root,
                dst_root: &dst_root,
                items: &task.items,
                filters: &task.options.filter_rules,
                delete_extra: task.options.delete_destination_extra,
            })
        })
        .await
        .ok()?;
        if plan.missing.is_empty() {
            return Some(plan);
        }
        let skip = with_task(shared, id, |t| {
            for path in &plan.missing {
                t.event(
                    "FILE_NOT_FOUND",
                    "file not found",
                    &format!(
                        "Error (transfer)\nEndpoint: {} ({})\nFile: {path}\nMessage: No such file or directory",
                        t.source_name, t.source
                    ),
                    true,
                );
            }
            t.counts.faults += 1;
            if t.options.skip_source_errors {
                t.counts.subtasks_skipped_errors += plan.missing.len() as u64;
                true
            } else {
                t.nice_status = Some("FILE_NOT_FOUND".to_owned());
                t.counts.subtasks_retrying = plan.missing.len() as u64;
                false
            }
        })?;
        if skip {
            return Some(plan);
        }
        tokio::time::sleep(retry_interval(shared)).await;
    }
}

async fn run(shared: &Shared, id: Uuid) {
    if matches!(acquire_slot(shared, id).await, Gate::Stop) {
        return;
    }
    let Some(plan) = plan_with_retries(shared, id).await else {
        return;
    };
    let ok = with_task(shared, id, |t| {
        if t.status.is_finished() {
            return false;
        }
        t.nice_status = Some("OK".to_owned());
        let c = &mut t.counts;
        c.subtasks_retrying = 0;
        c.files = plan.files;
        c.directories = plan.directories;
        c.symlinks = plan.symlinks;
        c.subtasks_total = plan.ops.len() as u64 + c.subtasks_skipped_errors;
        c.subtasks_pending = plan.ops.len() as u64;
        true
    });
    if ok != Some(true) {
        return;
    }
    for op in plan.ops {
        loop {
            if matches!(gate(shared, id).await, Gate::Stop) {
                return;
            }
            match perform(shared, id, &op).await {
                Ok(Done::Finished) => break,
                Ok(Done::Stopped) => return,
                Err(failure) => {
                    let retry = with_task(shared, id, |t| {
                        t.event(
                            &failure.code,
                            &failure.code.to_lowercase().replace('_', " "),
                            &failure.details,
                            true,
                        );
                        t.counts.faults += 1;
                        if failure.fatal {
                            t.finish(TaskStatus::Failed, Some((&failure.code, &failure.details)));
                            false
                        } else {
                            t.nice_status = Some(failure.code.clone());
                            true
                        }
                    });
                    if retry != Some(true) {
                        return;
                    }
                    tokio::time::sleep(retry_interval(shared)).await;
                }
            }
        }
        with_task(shared, id, |t| {
            t.nice_status = Some("OK".to_owned());
            t.counts.subtasks_pending = t.counts.subtasks_pending.saturating_sub(1);
            t.counts.subtasks_succeeded += 1;
        });
    }
    with_task(shared, id, |t| {
        if !t.status.is_finished() {
            t.event(
                "SUCCEEDED",
                "succeeded",
                "The task completed successfully",
                false,
            );
            t.finish(TaskStatus::Succeeded, None);
        }
    });
}

enum Done {
    Finished,
    Stopped,
}

/// Why an operation failed: an event code, details, and whether retrying is pointless.
struct Failure {
    code: String,
    details: String,
    fatal: bool,
}

impl Failure {
    fn io(err: &std::io::Error, path: &std::path::Path) -> Self {
        let code = match err.kind() {
            std::io::ErrorKind::NotFound => "FILE_NOT_FOUND",
            std::io::ErrorKind::PermissionDenied => "PERMISSION_DENIED",
            std::io::ErrorKind::StorageFull => "NO_SPACE_LEFT",
            _ => "GENERAL_ERROR",
        };
        Self {
            code: code.to_owned(),
            details: format!(
                "Error on {}: {err}",
                path.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            ),
            fatal: false,
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(Failure {
            code: "GENERAL_ERROR".to_owned(),
            details: e.to_string(),
            fatal: true,
        })
    })
}

async fn perform(shared: &Shared, id: Uuid, op: &Op) -> Result<Done, Failure> {
    match op.clone() {
        Op::Mkdir { dst } => {
            blocking(move || std::fs::create_dir_all(&dst).map_err(|e| Failure::io(&e, &dst)))
                .await?;
            Ok(Done::Finished)
        }
        Op::Delete { path } => {
            blocking(move || {
                let result = if path.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
                match result {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        Err(Failure::io(&e, &path))
                    }
                    _ => Ok(()),
                }
            })
            .await?;
            Ok(Done::Finished)
        }
        Op::Copy {
            src,
            dst,
            size,
            src_api,
            dst_api,
            external_checksum,
        } => {
            let Some(options) = shared.store().task(id).map(|t| t.options.clone()) else {
                return Ok(Done::Stopped);
            };
            if let Some((algorithm, expected)) = external_checksum {
                let s = src.clone();
                let actual = blocking(move || {
                    copy::checksum(&s, &algorithm).map_err(|e| Failure::io(&e, &s))
                })
                .await?;
                if !actual.eq_ignore_ascii_case(expected.trim()) {
                    return Err(Failure {
                        code: "CHECKSUM_MISMATCH".to_owned(),
                        details: format!(
                            "Checksum of {src_api} is {actual}, not the external checksum {expected}"
                        ),
                        fatal: true,
                    });
                }
            }
            let (s, d) = (src.clone(), dst.clone());
            let level = options.sync_level;
            let needed =
                blocking(move || copy::needs_copy(&s, &d, level).map_err(|e| Failure::io(&e, &s)))
                    .await?;
            if level == Some(3) {
                with_task(shared, id, |t| t.counts.bytes_checksummed += size);
            }
            if !needed {
                with_task(shared, id, |t| t.counts.files_skipped += 1);
                return Ok(Done::Finished);
            }
            if let Done::Stopped = transfer_bytes(shared, id, &src, &dst, size).await? {
                return Ok(Done::Stopped);
            }
            let (s, d) = (src.clone(), dst.clone());
            let verify = options.verify_checksum;
            let preserve = options.preserve_timestamp;
            blocking(move || {
                if verify
                    && copy::checksum(&s, "MD5").map_err(|e| Failure::io(&e, &s))?
                        != copy::checksum(&d, "MD5").map_err(|e| Failure::io(&e, &d))?
                {
                    return Err(Failure {
                        code: "VERIFY_CHECKSUM".to_owned(),
                        details: "Checksum verification failed; retrying the file".to_owned(),
                        fatal: false,
                    });
                }
                if preserve {
                    copy::preserve_mtime(&s, &d).map_err(|e| Failure::io(&e, &d))?;
                }
                Ok(())
            })
            .await?;
            with_task(shared, id, |t| {
                if verify {
                    t.counts.bytes_checksummed += size;
                }
                t.counts.files_transferred += 1;
                t.successful.push((src_api, dst_api));
            });
            Ok(Done::Finished)
        }
    }
}

/// Copies the bytes, chunk by chunk at the configured rate when throttled.
async fn transfer_bytes(
    shared: &Shared,
    id: Uuid,
    src: &std::path::Path,
    dst: &std::path::Path,
    size: u64,
) -> Result<Done, Failure> {
    let Some(rate) = shared.config.throughput else {
        let (s, d) = (src.to_path_buf(), dst.to_path_buf());
        let copied =
            blocking(move || copy::copy_whole(&s, &d).map_err(|e| Failure::io(&e, &s))).await?;
        with_task(shared, id, |t| t.counts.bytes_transferred += copied);
        return Ok(Done::Finished);
    };
    let chunk = usize::try_from((rate / 10).clamp(1, 1 << 20)).unwrap_or(1 << 20);
    let mut offset = 0u64;
    loop {
        let (s, d) = (src.to_path_buf(), dst.to_path_buf());
        let n = blocking(move || {
            copy::copy_chunk(&s, &d, offset, chunk).map_err(|e| Failure::io(&e, &s))
        })
        .await?;
        offset += n as u64;
        with_task(shared, id, |t| t.counts.bytes_transferred += n as u64);
        if n == 0 || offset >= size {
            return Ok(Done::Finished);
        }
        #[allow(clippy::cast_precision_loss)]
        tokio::time::sleep(Duration::from_secs_f64(n as f64 / rate as f64)).await;
        if matches!(gate(shared, id).await, Gate::Stop) {
            return Ok(Done::Stopped);
        }
    }
}
