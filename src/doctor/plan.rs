//! `--online`: a job's plan checked against Globus before the job waits in the queue, so a
//! missing consent or a mistyped input path is found at submission, not at stage-in a day later.
//!
//! What is checked, as the transfer itself would meet it: every collection the plan names exists
//! and is usable; the login may read every collection it reads from and write every collection
//! it writes to (one `stat` answers consent and session policies together); and every stage-in
//! source exists. Stage-out sources are made by the job, so they are not looked for; a
//! destination that does not exist yet is fine (the transfer creates it).

use std::collections::BTreeSet;

use super::CheckResult;
use crate::collection::{Collection, CollectionId};
use crate::exit;
use crate::globus::{Error, GlobusClient};
use crate::options::Direction;
use crate::plan::Plan;

/// Stage-in sources looked up per check; a plan with more reports how many were left out.
const MAX_SOURCES: usize = 200;

/// The checks and the exit status they call for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanCheck {
    /// One line per collection, access and source path.
    pub checks: Vec<CheckResult>,
    /// 0 all good; 4 a login, consent or session is needed; 3 a collection or source is missing;
    /// 1 anything else.
    pub code: i32,
}

impl PlanCheck {
    fn push(&mut self, check: CheckResult, code: i32) {
        if !check.ok {
            self.code = worse(self.code, code);
        }
        self.checks.push(check);
    }
}

/// Which of two exit statuses a combined check reports: the one whose fix comes first (a
/// login unlocks the other checks, then what is missing, then anything else).
fn worse(a: i32, b: i32) -> i32 {
    let rank = |c: i32| match c {
        exit::OK => 0,
        exit::FAILURE => 1,
        exit::NOT_FOUND => 2,
        _ => 3,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// Why a `stat` failed, as far as the check cares.
enum Refusal {
    /// The path is not there.
    Missing,
    /// Anything else: the message (with its fix) and its exit status.
    Other(String, i32),
}

fn refusal(e: &Error) -> Refusal {
    match e.exit_code() {
        exit::NOT_FOUND => Refusal::Missing,
        code => Refusal::Other(e.to_string(), code),
    }
}

/// Checks `plan` through Globus.
pub async fn check(plan: &Plan, client: &GlobusClient) -> PlanCheck {
    let mut out = PlanCheck {
        checks: Vec::new(),
        code: exit::OK,
    };
    let usable = collections(plan, client, &mut out).await;
    access(plan, client, &usable, &mut out).await;
    sources(plan, client, &usable, &mut out).await;
    out
}

/// Every collection the plan names, once; returns those Globus knows and can use.
async fn collections(
    plan: &Plan,
    client: &GlobusClient,
    out: &mut PlanCheck,
) -> BTreeSet<CollectionId> {
    let mut seen = BTreeSet::new();
    let mut usable = BTreeSet::new();
    let all = plan
        .stage_in
        .iter()
        .chain(&plan.stage_out)
        .flat_map(|t| [&t.source, &t.destination]);
    for c in all {
        if !seen.insert(c.id) {
            continue;
        }
        let name = format!("collection {}", c.display_name);
        match client.get_endpoint(&c.id).await {
            Ok(e) if e.non_functional => out.push(
                CheckResult::fail(
                    name,
                    format!("`{}` is marked non-functional at Globus", c.id),
                    "ask the collection's administrators, or stage from another collection",
                ),
                exit::FAILURE,
            ),
            Ok(e) => {
                usable.insert(c.id);
                out.push(
                    CheckResult::pass(
                        name,
                        e.display_name.unwrap_or_else(|| c.id.to_string()),
                    ),
                    exit::OK,
                );
            }
            Err(e) => match refusal(&e) {
                Refusal::Missing => out.push(
                    CheckResult::fail(
                        name,
                        format!("globus knows no collection `{}`", c.id),
                        "check the UUID in the directive or in the config's alias (the collection's page on app.globus.org shows it)",
                    ),
                    exit::NOT_FOUND,
                ),
                Refusal::Other(message, code) => out.push(
                    CheckResult::from_error(name, &message, "check the network and the configured transfer URL"),
                    code,
                ),
            },
        }
    }
    usable
}

/// May the login use each collection the way the plan does? One `stat` per (collection, way):
/// a refusal names the `gstage login` that fixes it.
async fn access(
    plan: &Plan,
    client: &GlobusClient,
    usable: &BTreeSet<CollectionId>,
    out: &mut PlanCheck,
) {
    let mut probed: BTreeSet<(CollectionId, &str)> = BTreeSet::new();
    for task in plan.stage_in.iter().chain(&plan.stage_out) {
        let Some(item) = task.items.first() else {
            continue;
        };
        // Stage-in sources are looked up one by one below; what remains is where data goes,
        // and where stage-outs read from.
        let mut probes: Vec<(&Collection, &str, &str)> =
            vec![(&task.destination, item.destination_path.as_str(), "write")];
        if task.direction == Direction::Out {
            probes.push((&task.source, item.source_path.as_str(), "read"));
        }
        for (c, path, way) in probes {
            if !usable.contains(&c.id) || !probed.insert((c.id, way)) {
                continue;
            }
            let name = format!("access {} ({way})", c.display_name);
            match client.stat(&c.id, path).await {
                Ok(_) => out.push(CheckResult::pass(name, "allowed"), exit::OK),
                Err(e) => match refusal(&e) {
                    Refusal::Missing => out.push(
                        CheckResult::pass(
                            name,
                            "allowed (the path is created by the transfer or the job)",
                        ),
                        exit::OK,
                    ),
                    Refusal::Other(message, code) => out.push(
                        CheckResult::from_error(
                            name,
                            &message,
                            "check that your identity may use this collection",
                        ),
                        code,
                    ),
                },
            }
        }
    }
}

/// Every stage-in source exists (`--optional` ones may be missing).
async fn sources(
    plan: &Plan,
    client: &GlobusClient,
    usable: &BTreeSet<CollectionId>,
    out: &mut PlanCheck,
) {
    let mut refused: BTreeSet<CollectionId> = BTreeSet::new();
    let mut looked = 0;
    let mut left = 0;
    for task in &plan.stage_in {
        for item in &task.items {
            let c = &task.source;
            if !usable.contains(&c.id) || refused.contains(&c.id) {
                continue;
            }
            if looked == MAX_SOURCES {
                left += 1;
                continue;
            }
            looked += 1;
            let name = format!("source {}:{}", c.display_name, item.source_path);
            match client.stat(&c.id, &item.source_path).await {
                Ok(_) => out.push(CheckResult::pass(name, "exists"), exit::OK),
                Err(e) => match refusal(&e) {
                    Refusal::Missing if task.options.optional => out.push(
                        CheckResult::pass(name, "missing, and the directive is --optional"),
                        exit::OK,
                    ),
                    Refusal::Missing => out.push(
                        CheckResult::fail(
                            name,
                            format!(
                                "`{}` does not exist on {}",
                                item.source_path, c.display_name
                            ),
                            format!(
                                "fix the path in the directive on line {}, or add `--optional` if the job can run without it",
                                item.line
                            ),
                        ),
                        exit::NOT_FOUND,
                    ),
                    Refusal::Other(message, code) => {
                        // Every other path of this collection would say the same.
                        refused.insert(c.id);
                        out.push(
                            CheckResult::from_error(
                                format!("access {} (read)", c.display_name),
                                &message,
                                "check that your identity may use this collection",
                            ),
                            code,
                        );
                    }
                },
            }
        }
    }
    if left > 0 {
        out.push(
            CheckResult::pass(
                "sources",
                format!(
                    "{left} more stage-in sources not looked up (at most {MAX_SOURCES} per check)"
                ),
            ),
            exit::OK,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_problem_outranks_a_missing_path_which_outranks_the_rest() {
        assert_eq!(worse(exit::OK, exit::NOT_FOUND), exit::NOT_FOUND);
        assert_eq!(worse(exit::NOT_FOUND, exit::FAILURE), exit::NOT_FOUND);
        assert_eq!(worse(exit::NOT_FOUND, exit::AUTH), exit::AUTH);
        assert_eq!(worse(exit::AUTH, exit::FAILURE), exit::AUTH);
        assert_eq!(worse(exit::OK, exit::OK), exit::OK);
    }
}
