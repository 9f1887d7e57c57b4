//! Directives + job context + config → the Globus tasks to submit. Pure: no I/O, the clock comes
//! in the context. Transfers are grouped into one task per (source collection, destination
//! collection, task options), so five stage-ins from one site are one task.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::collection::{Collection, CollectionId};
use crate::config::{Config, normalize};
use crate::directive::{
    Diagnostic, DiagnosticKind, Diagnostics, Directive, Location, ParseOptions, Span,
    StageDirective, Symbol, Word, parse_all,
};
use crate::options::{
    ChecksumAlgorithm, DeadlineSpec, Direction, FilterRule, Notify, SyncLevel, TaskSettings, When,
    nearest,
};
use crate::slurm::context::JobContext;

/// The Transfer API's limit on labels.
pub const MAX_LABEL_CHARS: usize = 128;

/// What to submit for one job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The cluster named in labels.
    pub cluster: String,
    /// The job.
    pub job_id: u64,
    /// Tasks to submit before the job runs.
    pub stage_in: Vec<Task>,
    /// Tasks to submit after it ends.
    pub stage_out: Vec<Task>,
}

impl Plan {
    /// The tasks of one direction.
    pub fn tasks(&self, direction: Direction) -> &[Task] {
        match direction {
            Direction::In => &self.stage_in,
            Direction::Out => &self.stage_out,
        }
    }

    /// Whether there is nothing to transfer.
    pub fn is_empty(&self) -> bool {
        self.stage_in.is_empty() && self.stage_out.is_empty()
    }
}

/// One Globus transfer task: everything needed to build its document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Task {
    /// In or out.
    pub direction: Direction,
    /// 1-based position among the direction's tasks.
    pub number: usize,
    /// `gstage <cluster> <jobid> in 1`, by which any host can find the task.
    pub label: String,
    /// Where data comes from.
    pub source: Collection,
    /// Where it goes.
    pub destination: Collection,
    /// Task-wide options.
    pub options: TaskOptions,
    /// What to copy.
    pub items: Vec<Item>,
}

/// Task-wide options, defaults applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskOptions {
    /// `None`: copy everything.
    pub sync_level: Option<SyncLevel>,
    /// Checksum after copying (default on).
    pub verify_checksum: bool,
    /// Keep modification times of files.
    pub preserve_timestamp: bool,
    /// Encrypt data in transit.
    pub encrypt_data: bool,
    /// When Globus gives up, UTC.
    pub deadline: Option<DateTime<Utc>>,
    /// Which outcomes send mail.
    pub notify: Notify,
    /// Skip unreadable source files instead of failing.
    pub skip_source_errors: bool,
    /// Fail at once on quota errors instead of retrying.
    pub fail_on_quota_errors: bool,
    /// Delete destination files absent from the source.
    pub delete_destination_extra: bool,
    /// Include/exclude rules, first match wins.
    pub filter_rules: Vec<FilterRule>,
    /// Stage-in only: the job runs even if this task fails.
    pub optional: bool,
    /// Stage-out only: after which job outcomes it runs.
    pub when: Option<When>,
    /// The `--label` text, appended to the task label.
    pub user_label: Option<String>,
}

/// One source → destination pair in a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// Path in the source collection.
    pub source_path: String,
    /// Path in the destination collection (a file source gets a file path).
    pub destination_path: String,
    /// `None`: the service decides whether it is a directory.
    pub recursive: Option<bool>,
    /// A checksum the copy must match.
    pub external_checksum: Option<String>,
    /// Its algorithm.
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    /// The script line of the directive, for messages.
    pub line: usize,
}

/// A plan and the warnings found on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// The plan.
    pub plan: Plan,
    /// Warnings (directives Slurm ignores, repeated transfers).
    pub warnings: Diagnostics,
}

/// Reads and plans a script, reporting every error of both steps at once.
pub fn plan_script(
    script: &str,
    options: &ParseOptions,
    ctx: &JobContext,
    config: &Config,
) -> Result<Planned, Diagnostics> {
    let parsed = parse_all(script, options);
    let mut diags = parsed.diagnostics;
    let plan = build(&parsed.directives, ctx, config, &mut diags);
    diags.sort();
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(Planned {
            plan,
            warnings: diags,
        })
    }
}

/// Plans parsed directives; all errors at once, and nothing planned if there is any.
pub fn plan(
    directives: &[Directive],
    ctx: &JobContext,
    config: &Config,
) -> Result<Plan, Diagnostics> {
    let mut diags = Diagnostics::default();
    let plan = build(directives, ctx, config, &mut diags);
    diags.sort();
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(plan)
    }
}

/// A task being filled.
struct Group {
    source: Collection,
    destination: Collection,
    options: TaskOptions,
    items: Vec<Item>,
}

/// Where each destination and each transfer was first planned.
#[derive(Default)]
struct Seen {
    destinations: BTreeMap<(Direction, CollectionId, String), usize>,
    transfers: BTreeMap<(Direction, CollectionId, String, CollectionId, String), usize>,
}

fn build(
    directives: &[Directive],
    ctx: &JobContext,
    config: &Config,
    diags: &mut Diagnostics,
) -> Plan {
    let cluster = ctx
        .cluster_name
        .clone()
        .or_else(|| config.cluster.name.clone())
        .unwrap_or_else(|| "cluster".to_owned());
    let resolver = Resolver {
        ctx,
        config,
        cluster: &cluster,
    };
    let mut layer = config.defaults.clone();
    let mut groups: BTreeMap<Direction, Vec<Group>> = BTreeMap::new();
    let mut seen = Seen::default();
    for directive in directives {
        match directive {
            Directive::Defaults(d) => {
                resolver.check_deadline(d.settings.deadline, d.deadline_span, diags);
                layer = layer.overlay(&d.settings);
            }
            Directive::Stage(s) => {
                let settings = layer.overlay(&s.settings);
                if let Some((source, destination, options, item)) =
                    resolver.stage(s, &settings, diags)
                {
                    let line = s.span.line;
                    let key = (
                        s.direction,
                        source.id,
                        item.source_path.clone(),
                        destination.id,
                        item.destination_path.clone(),
                    );
                    if let Some(first_line) = seen.transfers.get(&key) {
                        diags.push(Diagnostic::warning(
                            s.span,
                            DiagnosticKind::DuplicateTransfer {
                                first_line: *first_line,
                            },
                        ));
                        continue;
                    }
                    seen.transfers.insert(key, line);
                    let dest_key = (s.direction, destination.id, item.destination_path.clone());
                    if let Some(first_line) = seen.destinations.get(&dest_key) {
                        diags.push(Diagnostic::error(
                            s.destination.span(),
                            DiagnosticKind::DuplicateDestination {
                                destination: item.destination_path.clone(),
                                first_line: *first_line,
                            },
                        ));
                        continue;
                    }
                    seen.destinations.insert(dest_key, line);
                    let list = groups.entry(s.direction).or_default();
                    match list.iter_mut().find(|g| {
                        g.source.id == source.id
                            && g.destination.id == destination.id
                            && g.options == options
                    }) {
                        Some(g) => g.items.push(item),
                        None => list.push(Group {
                            source,
                            destination,
                            options,
                            items: vec![item],
                        }),
                    }
                }
            }
        }
    }
    let mut tasks = |direction: Direction| -> Vec<Task> {
        groups
            .remove(&direction)
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, g)| Task {
                direction,
                number: i + 1,
                label: label(
                    &cluster,
                    ctx.job_id,
                    direction,
                    i + 1,
                    g.options.user_label.as_deref(),
                ),
                source: g.source,
                destination: g.destination,
                options: g.options,
                items: g.items,
            })
            .collect()
    };
    let stage_in = tasks(Direction::In);
    let stage_out = tasks(Direction::Out);
    Plan {
        cluster: cluster.clone(),
        job_id: ctx.job_id,
        stage_in,
        stage_out,
    }
}

/// `gstage <cluster> <jobid> <in|out> <n>[: <user label>]`, within the API's rules: at most 128
/// characters, no line breaks, no leading or trailing whitespace.
pub fn label(
    cluster: &str,
    job_id: u64,
    direction: Direction,
    number: usize,
    user: Option<&str>,
) -> String {
    let clean = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut text = format!("gstage {} {job_id} {direction} {number}", clean(cluster));
    if let Some(user) = user.map(clean).filter(|u| !u.is_empty()) {
        text.push_str(": ");
        text.push_str(&user);
    }
    let cut: String = text.chars().take(MAX_LABEL_CHARS).collect();
    cut.trim_end().to_owned()
}

struct Resolver<'a> {
    ctx: &'a JobContext,
    config: &'a Config,
    cluster: &'a str,
}

impl Resolver<'_> {
    fn symbol(&self, symbol: Symbol, span: Span) -> Result<String, Box<Diagnostic>> {
        let ctx = self.ctx;
        let unavailable = |reason: String| {
            Box::new(Diagnostic::error(
                span,
                DiagnosticKind::SymbolUnavailable {
                    symbol: symbol.to_string(),
                    reason,
                },
            ))
        };
        Ok(match symbol {
            Symbol::JobId => ctx.job_id.to_string(),
            Symbol::ArrayJobId => ctx.array_job_id.unwrap_or(ctx.job_id).to_string(),
            Symbol::ArrayTaskId => match ctx.array_task_id {
                Some(id) => id.to_string(),
                None => {
                    return Err(unavailable(format!(
                        "job {} is not part of a job array (give `--array-task-id` to `gstage check`)",
                        ctx.job_id
                    )));
                }
            },
            Symbol::User => ctx.user.clone(),
            Symbol::JobName => ctx.job_name.clone(),
            Symbol::WorkDir => ctx.work_dir.display().to_string(),
            Symbol::SubmitDir => ctx.submit_dir.display().to_string(),
            Symbol::ClusterName => self.cluster.to_owned(),
            Symbol::Home => match &ctx.home {
                Some(h) => h.display().to_string(),
                None => {
                    return Err(unavailable(
                        "the job's home directory is unknown".to_owned(),
                    ));
                }
            },
        })
    }

    fn expand(&self, word: &Word, diags: &mut Diagnostics) -> Option<String> {
        let mut ok = true;
        let text = word.expand(|symbol, span| match self.symbol(symbol, span) {
            Ok(v) => Ok::<_, std::convert::Infallible>(v),
            Err(d) => {
                diags.push(*d);
                ok = false;
                Ok(String::new())
            }
        });
        match text {
            Ok(t) if ok => Some(t),
            _ => None,
        }
    }

    fn check_deadline(
        &self,
        spec: Option<DeadlineSpec>,
        span: Option<Span>,
        diags: &mut Diagnostics,
    ) -> Option<DateTime<Utc>> {
        let deadline = spec?.resolve(self.ctx.now);
        if deadline <= self.ctx.now
            && let Some(span) = span
        {
            diags.push(Diagnostic::error(
                span,
                DiagnosticKind::DeadlinePast {
                    deadline: deadline.format("%Y-%m-%d %H:%M:%S").to_string(),
                },
            ));
        }
        Some(deadline)
    }

    /// A collection and a path in it.
    fn location(
        &self,
        location: &Location,
        diags: &mut Diagnostics,
    ) -> Option<(Collection, String)> {
        match location {
            Location::Remote {
                name,
                name_span,
                id,
                path,
            } => {
                let collection = match id {
                    Some(id) => Collection {
                        id: *id,
                        display_name: self
                            .config
                            .collections
                            .values()
                            .find(|c| c.id == *id)
                            .map_or_else(|| id.to_string(), |c| c.display_name.clone()),
                    },
                    None => match self.config.collections.get(name) {
                        Some(c) => c.clone(),
                        None => {
                            let known: Vec<String> =
                                self.config.collections.keys().cloned().collect();
                            diags.push(Diagnostic::error(
                                *name_span,
                                DiagnosticKind::UnknownCollection {
                                    name: name.clone(),
                                    suggestion: nearest(name, known.iter().map(String::as_str))
                                        .map(str::to_owned),
                                    known,
                                },
                            ));
                            return None;
                        }
                    },
                };
                let text = self.expand(path, diags)?;
                let text = match text.strip_prefix('~') {
                    Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                        format!("/~/{}", rest.trim_start_matches('/'))
                    }
                    _ => text,
                };
                let text = collapse_slashes(&text);
                if !text.starts_with('/') {
                    diags.push(Diagnostic::error(
                        path.span,
                        DiagnosticKind::RelativeRemotePath {
                            path: text,
                            collection: name.clone(),
                        },
                    ));
                    return None;
                }
                Some((collection, text))
            }
            Location::Cluster { path } => {
                let text = self.expand(path, diags)?;
                let Some(collection) = self.config.cluster_collection() else {
                    diags.push(Diagnostic::error(
                        path.span,
                        DiagnosticKind::NoClusterCollection,
                    ));
                    return None;
                };
                let dir = text.ends_with('/')
                    || text.ends_with("/.")
                    || text == "."
                    || text.ends_with("/..")
                    || text == "..";
                let local = normalize(&self.ctx.work_dir.join(PathBuf::from(&text)));
                let Some(mut mapped) = self.config.cluster.map_path(&local) else {
                    diags.push(Diagnostic::error(
                        path.span,
                        DiagnosticKind::UnmappedPath {
                            path: local.display().to_string(),
                            roots: self.config.cluster.roots(),
                        },
                    ));
                    return None;
                };
                if dir && !mapped.ends_with('/') {
                    mapped.push('/');
                }
                Some((collection, mapped))
            }
        }
    }

    fn stage(
        &self,
        s: &StageDirective,
        settings: &TaskSettings,
        diags: &mut Diagnostics,
    ) -> Option<(Collection, Collection, TaskOptions, Item)> {
        let source = self.location(&s.source, diags);
        let destination = self.location(&s.destination, diags);
        let user_label = match &s.label {
            Some(word) => Some(self.expand(word, diags)?),
            None => None,
        };
        // A past deadline is reported where it is written: on this line, on its `defaults`
        // line (reported there), or, from the config, at this directive.
        let deadline_span = if s.settings.deadline.is_some() {
            s.deadline_span
        } else if settings.deadline == self.config.defaults.deadline {
            Some(s.span)
        } else {
            None
        };
        let deadline = self.check_deadline(settings.deadline, deadline_span, diags);
        let ((source, source_path), (destination, mut destination_path)) = (source?, destination?);
        // Globus needs a file's full destination path; like rsync, `file dir/` means `dir/file`.
        if destination_path.ends_with('/')
            && !source_path.ends_with('/')
            && let Some(base) = source_path.rsplit('/').next().filter(|b| !b.is_empty())
        {
            destination_path.push_str(base);
        }
        let options = TaskOptions {
            sync_level: settings.sync_level,
            verify_checksum: settings.verify_checksum.unwrap_or(true),
            preserve_timestamp: settings.preserve_mtime.unwrap_or(false),
            encrypt_data: settings.encrypt.unwrap_or(false),
            deadline,
            notify: settings.notify.unwrap_or_default(),
            skip_source_errors: settings.skip_source_errors.unwrap_or(false),
            fail_on_quota_errors: settings.fail_on_quota_errors.unwrap_or(false),
            delete_destination_extra: settings.delete_destination_extra.unwrap_or(false),
            filter_rules: settings.filters.clone(),
            optional: s.direction == Direction::In && settings.optional.unwrap_or(false),
            when: (s.direction == Direction::Out).then(|| settings.when.unwrap_or(When::Always)),
            user_label,
        };
        let item = Item {
            source_path,
            destination_path,
            recursive: s.recursive,
            external_checksum: s.external_checksum.clone(),
            checksum_algorithm: s.checksum_algorithm.clone(),
            line: s.span.line,
        };
        Some((source, destination, options, item))
    }
}

/// `a//b` → `a/b`: symbols such as `%d` expand to absolute paths inside other paths.
fn collapse_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out
}

pub mod array;

#[cfg(test)]
mod tests;
