//! `GET /task_list`: the caller's tasks, filtered, ordered and paged.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::caller::Caller;
use super::paging;
use super::time::parse_time;
use crate::error::ApiError;
use crate::store::Shared;
use crate::task::Task;

/// Inclusive time bounds; an absent end is open.
type Range = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// One `key:value` clause of a `filter` parameter.
#[derive(Debug, Clone, PartialEq)]
enum Clause {
    Status(Vec<String>),
    Type(Vec<String>),
    Label {
        negate: bool,
        contains: bool,
        text: String,
    },
    TaskId(Vec<Uuid>),
    RequestTime(Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    CompletionTime(Option<DateTime<Utc>>, Option<DateTime<Utc>>),
}

fn range(value: &str, key: &str) -> Result<Range, ApiError> {
    let (start, end) = value.split_once(',').unwrap_or((value, ""));
    let one = |t: &str| -> Result<Option<DateTime<Utc>>, ApiError> {
        if t.trim().is_empty() {
            return Ok(None);
        }
        parse_time(t)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(format!("Invalid {key} filter time '{t}'")))
    };
    Ok((one(start)?, one(end)?))
}

fn parse_filter(filter: &str) -> Result<Vec<Clause>, ApiError> {
    let mut clauses = Vec::new();
    for part in filter.split('/').filter(|p| !p.is_empty()) {
        let (key, value) = part
            .split_once(':')
            .ok_or_else(|| ApiError::bad_request(format!("Invalid filter '{part}'")))?;
        let list = || {
            value
                .split(',')
                .map(|v| v.trim().to_ascii_uppercase())
                .collect()
        };
        clauses.push(match key {
            "status" => Clause::Status(list()),
            "type" => Clause::Type(list()),
            "label" => {
                let (negate, rest) = value
                    .strip_prefix('!')
                    .map_or((false, value), |r| (true, r));
                let (contains, text) = if let Some(t) = rest.strip_prefix('~') {
                    (true, t)
                } else {
                    (false, rest.strip_prefix('=').unwrap_or(rest))
                };
                Clause::Label {
                    negate,
                    contains,
                    text: text.to_owned(),
                }
            }
            "task_id" => Clause::TaskId(
                value
                    .split(',')
                    .map(|v| {
                        Uuid::parse_str(v.trim()).map_err(|_| {
                            ApiError::bad_request(format!("Invalid task_id '{v}' in filter"))
                        })
                    })
                    .collect::<Result<_, _>>()?,
            ),
            "request_time" => {
                let (a, b) = range(value, key)?;
                Clause::RequestTime(a, b)
            }
            "completion_time" => {
                let (a, b) = range(value, key)?;
                Clause::CompletionTime(a, b)
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "Unsupported filter field '{other}'"
                )));
            }
        });
    }
    Ok(clauses)
}

fn within(
    t: Option<DateTime<Utc>>,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
) -> bool {
    let Some(t) = t else {
        return start.is_none() && end.is_none();
    };
    start.is_none_or(|s| t >= s) && end.is_none_or(|e| t <= e)
}

fn matches(task: &Task, clause: &Clause) -> bool {
    match clause {
        Clause::Status(list) => list.iter().any(|s| s == task.status.as_str()),
        Clause::Type(list) => list.iter().any(|t| t == "TRANSFER"),
        Clause::Label {
            negate,
            contains,
            text,
        } => {
            let label = task.label.as_deref().unwrap_or("");
            let hit = if *contains {
                label.to_lowercase().contains(&text.to_lowercase())
            } else {
                task.label.as_deref() == Some(text.as_str())
            };
            hit != *negate
        }
        Clause::TaskId(ids) => ids.contains(&task.id),
        Clause::RequestTime(s, e) => within(Some(task.request_time), *s, *e),
        Clause::CompletionTime(s, e) => within(task.completion_time, *s, *e),
    }
}

/// The tasks `filter` selects, in `orderby` order (default newest first).
fn select<'a>(
    tasks: &'a [Task],
    owner: Uuid,
    filter: &str,
    orderby: &str,
) -> Result<Vec<&'a Task>, ApiError> {
    let clauses = parse_filter(filter)?;
    let mut out: Vec<&Task> = tasks
        .iter()
        .filter(|t| t.owner_id == owner && clauses.iter().all(|c| matches(t, c)))
        .collect();
    let mut words = orderby.split_whitespace();
    let field = words.next().unwrap_or("request_time");
    let ascending = words.next().is_some_and(|d| d.eq_ignore_ascii_case("ASC"));
    match field {
        "request_time" => {}
        "completion_time" => out.sort_by_key(|t| t.completion_time),
        "label" => out.sort_by(|a, b| a.label.cmp(&b.label)),
        other => {
            return Err(ApiError::bad_request(format!(
                "Unsupported orderby field '{other}'"
            )));
        }
    }
    // Tasks are stored oldest first, which is request_time order; sorts above are stable.
    if !ascending {
        out.reverse();
    }
    Ok(out)
}

pub(crate) async fn task_list(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let (limit, offset) = paging(&q, 10)?;
    let store = shared.store();
    let selected = select(
        &store.tasks,
        caller.principal.id,
        q.get("filter").map_or("", String::as_str),
        q.get("orderby").map_or("request_time DESC", String::as_str),
    )?;
    let total = selected.len();
    let page: Vec<Value> = selected
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(Task::to_json)
        .collect();
    Ok(Json(json!({
        "DATA_TYPE": "task_list", "length": page.len(), "limit": limit, "offset": offset,
        "total": total, "DATA": page,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_clause_form() {
        let id = Uuid::new_v4();
        let clauses = parse_filter(&format!(
            "status:ACTIVE,inactive/type:TRANSFER,DELETE/label:!~tmp/task_id:{id}/request_time:2030-01-01 00:00:00,"
        ))
        .expect("valid filter");
        assert_eq!(clauses.len(), 5);
        assert_eq!(
            clauses[0],
            Clause::Status(vec!["ACTIVE".into(), "INACTIVE".into()])
        );
        assert_eq!(
            clauses[2],
            Clause::Label {
                negate: true,
                contains: true,
                text: "tmp".into()
            }
        );
        assert_eq!(clauses[3], Clause::TaskId(vec![id]));
        assert!(matches!(clauses[4], Clause::RequestTime(Some(_), None)));
        assert!(parse_filter("colour:red").is_err());
        assert!(parse_filter("task_id:nope").is_err());
    }
}
