//! A job array's stage-ins as a few shared Globus tasks. Pure: the script, one element's
//! context and the array's indices in, the coalesced tasks out.
//!
//! Every element of an array runs the same script. Planned alone, a 1000-element array that
//! stages from one site is 1000 tasks, far beyond the 3 running / 100 pending tasks Globus allows
//! a user. Here the script is planned once per index and the items of every element that move
//! between the same collections with the same options are merged (an item every element shares,
//! a path without `%a`, is one item), then cut into tasks of at most `max_items` items. Each task
//! knows which indices have items in it: an element's stage-in is done when those tasks are.
//!
//! An array is not coalesced (every element stages alone, as any job) when its stage-ins use the
//! element's own job id (`%j`, which other elements' values cannot be known for), when two
//! elements would write different sources to one destination, or when an index cannot be
//! planned.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use super::{Item, MAX_LABEL_CHARS, Plan, Task, TaskOptions, plan};
use crate::collection::{Collection, CollectionId};
use crate::config::Config;
use crate::directive::Directive;
use crate::options::Direction;
use crate::slurm::context::JobContext;

/// A set of array indices, read and written in Slurm's notation (`0-999:2,1005`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexSet(BTreeSet<u32>);

/// The most indices an array may have (Slurm's `MaxArraySize` cannot exceed 4 million).
const MAX_INDICES: usize = 4_000_001;

impl IndexSet {
    /// Reads `1-5,8,10-20:2` (a `%limit` suffix is ignored); `None` for anything else.
    pub fn parse(text: &str) -> Option<IndexSet> {
        let text = text.trim();
        let text = text.split('%').next().unwrap_or_default();
        let text = text.trim_start_matches('[').trim_end_matches(']');
        let mut set = BTreeSet::new();
        for part in text.split(',') {
            let (range, step) = match part.split_once(':') {
                Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0)?),
                None => (part, 1),
            };
            let (lo, hi) = match range.split_once('-') {
                Some((a, b)) => (a.parse::<u32>().ok()?, b.parse::<u32>().ok()?),
                None => {
                    let n = range.parse::<u32>().ok()?;
                    (n, n)
                }
            };
            if lo > hi || (hi - lo) as usize / step as usize + set.len() >= MAX_INDICES {
                return None;
            }
            set.extend((lo..=hi).step_by(step as usize));
        }
        (!set.is_empty()).then_some(IndexSet(set))
    }

    /// `SLURM_ARRAY_TASK_MIN`, `_MAX` and `_STEP` (as set in an element's environment).
    pub fn from_min_max_step(min: &str, max: &str, step: Option<&str>) -> Option<IndexSet> {
        let step = step.filter(|s| !s.is_empty()).unwrap_or("1");
        IndexSet::parse(&format!("{}-{}:{step}", min.trim(), max.trim()))
    }

    /// One index.
    pub fn single(index: u32) -> IndexSet {
        IndexSet(BTreeSet::from([index]))
    }

    /// Adds every index of `other`.
    pub fn extend(&mut self, other: &IndexSet) {
        self.0.extend(other.0.iter().copied());
    }

    /// Whether `index` is in the set.
    pub fn contains(&self, index: u32) -> bool {
        self.0.contains(&index)
    }

    /// How many indices.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The indices, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().copied()
    }
}

impl fmt::Display for IndexSet {
    /// Runs of consecutive indices as `a-b`, others one by one: `0-999`, `1,3,5-9`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut iter = self.0.iter().copied().peekable();
        while let Some(start) = iter.next() {
            let mut end = start;
            while iter.peek() == Some(&(end.saturating_add(1))) {
                end += 1;
                iter.next();
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if end == start {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{end}")?;
            }
        }
        Ok(())
    }
}

/// One shared task and the elements that have items in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The task (its number is its place among the array's tasks of the direction).
    pub task: Task,
    /// Indices of the elements whose items it carries.
    pub indices: IndexSet,
}

/// An array's tasks for one direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrayPlan {
    /// The cluster named in labels.
    pub cluster: String,
    /// `SLURM_ARRAY_JOB_ID`.
    pub array_job_id: u64,
    /// The direction.
    pub direction: Direction,
    /// The indices planned.
    pub indices: IndexSet,
    /// The shared tasks.
    pub chunks: Vec<Chunk>,
}

impl ArrayPlan {
    /// The tasks carrying `index`'s items.
    pub fn chunks_of(&self, index: u32) -> impl Iterator<Item = &Chunk> {
        self.chunks
            .iter()
            .filter(move |c| c.indices.contains(index))
    }

    /// The ledger's name for the array's shared tasks: `<array job id>_*`, apart from every
    /// element's own job id.
    pub fn subject_job_id(&self) -> String {
        subject_job_id(self.array_job_id)
    }
}

/// The ledger's name for an array's shared tasks.
pub fn subject_job_id(array_job_id: u64) -> String {
    format!("{array_job_id}_*")
}

/// Why an array is staged element by element instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotCoalesced {
    /// The job is not an array element.
    #[error("job {0} is not an array element")]
    NotAnArray(u64),
    /// A stage path uses the element's own job id.
    #[error("its stage paths use the element's job id (`%j`), which differs per element")]
    UsesJobId,
    /// Two elements write different sources to one destination.
    #[error("elements {first} and {second} write different sources to `{destination}`")]
    DestinationConflict {
        /// The destination path.
        destination: String,
        /// The first element.
        first: u32,
        /// The other.
        second: u32,
    },
    /// One index cannot be planned.
    #[error("element {index} cannot be planned: {reason}")]
    Invalid {
        /// The index.
        index: u32,
        /// The first error.
        reason: String,
    },
}

impl NotCoalesced {
    /// Never shown as an error (the elements stage alone); a general failure if it were.
    pub fn exit_code(&self) -> i32 {
        crate::exit::FAILURE
    }
}

/// `gstage <cluster> <array job> <in|out> array <k> of <n>[: <user label>]`: found by the same
/// `gstage <cluster> <array job> ` prefix as the first element's own tasks. No `/` (it separates
/// `task_list` filter clauses).
pub fn array_label(
    cluster: &str,
    array_job_id: u64,
    direction: Direction,
    number: usize,
    total: usize,
    user: Option<&str>,
) -> String {
    let clean = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut text = format!(
        "gstage {} {array_job_id} {direction} array {number} of {total}",
        clean(cluster)
    );
    if let Some(user) = user.map(clean).filter(|u| !u.is_empty()) {
        text.push_str(": ");
        text.push_str(&user);
    }
    let cut: String = text.chars().take(MAX_LABEL_CHARS).collect();
    cut.trim_end().to_owned()
}

/// A group of tasks across elements: same collections, same options but the label.
struct Group {
    source: Collection,
    destination: Collection,
    options: TaskOptions,
    /// `Some(label)` while every element gives the same `--label`.
    user_label: Option<Option<String>>,
    items: Vec<(Item, IndexSet)>,
}

/// Plans `direction` for every index of `indices` as elements of `ctx`'s array and merges them
/// into tasks of at most `max_items` items. `directives` must plan without errors for `ctx`.
pub fn plan_array(
    directives: &[Directive],
    ctx: &JobContext,
    config: &Config,
    indices: &IndexSet,
    direction: Direction,
    max_items: usize,
) -> Result<ArrayPlan, NotCoalesced> {
    let (Some(array_job_id), Some(own_index)) = (ctx.array_job_id, ctx.array_task_id) else {
        return Err(NotCoalesced::NotAnArray(ctx.job_id));
    };
    let plan_index = |job_id: u64, index: u32| -> Result<Plan, NotCoalesced> {
        let mut c = ctx.clone();
        c.job_id = job_id;
        c.array_task_id = Some(index);
        plan(directives, &c, config).map_err(|d| NotCoalesced::Invalid {
            index,
            reason: d
                .errors()
                .next()
                .map_or_else(|| "invalid".to_owned(), |e| e.kind.to_string()),
        })
    };
    // `%j` (or `$SLURM_JOB_ID`) makes each element's paths its own: the same element under
    // another job id plans differently.
    let own = plan_index(ctx.job_id, own_index)?;
    let moved = plan_index(ctx.job_id.wrapping_add(1), own_index)?;
    let items = |p: &Plan| -> Vec<Vec<Item>> {
        p.tasks(direction).iter().map(|t| t.items.clone()).collect()
    };
    let labels = |p: &Plan| -> Vec<Option<String>> {
        p.tasks(direction)
            .iter()
            .map(|t| t.options.user_label.clone())
            .collect()
    };
    if items(&own) != items(&moved) || labels(&own) != labels(&moved) {
        return Err(NotCoalesced::UsesJobId);
    }
    let mut groups: Vec<Group> = Vec::new();
    // (group, destination path) → (item position, first index)
    let mut seen: HashMap<(usize, String), (usize, u32)> = HashMap::new();
    for index in indices.iter() {
        let p = if index == own_index {
            own.clone()
        } else {
            plan_index(ctx.job_id, index)?
        };
        for task in p.tasks(direction) {
            let mut options = task.options.clone();
            let user_label = options.user_label.take();
            let g = match groups.iter().position(|g| {
                g.source.id == task.source.id
                    && g.destination.id == task.destination.id
                    && g.options == options
            }) {
                Some(g) => g,
                None => {
                    groups.push(Group {
                        source: task.source.clone(),
                        destination: task.destination.clone(),
                        options,
                        user_label: Some(user_label.clone()),
                        items: Vec::new(),
                    });
                    groups.len() - 1
                }
            };
            let group = &mut groups[g];
            if group.user_label.as_ref() != Some(&user_label) {
                group.user_label = None;
            }
            for item in &task.items {
                match seen.get(&(g, item.destination_path.clone())) {
                    Some(&(at, first)) => {
                        let (existing, users) = &mut group.items[at];
                        if existing.source_path != item.source_path {
                            return Err(NotCoalesced::DestinationConflict {
                                destination: item.destination_path.clone(),
                                first,
                                second: index,
                            });
                        }
                        users.0.insert(index);
                    }
                    None => {
                        seen.insert(
                            (g, item.destination_path.clone()),
                            (group.items.len(), index),
                        );
                        group.items.push((item.clone(), IndexSet::single(index)));
                    }
                }
            }
        }
    }
    let max_items = max_items.max(1);
    let mut pieces: Vec<(usize, Vec<(Item, IndexSet)>)> = Vec::new();
    for (g, group) in groups.iter_mut().enumerate() {
        let items = std::mem::take(&mut group.items);
        for piece in items.chunks(max_items) {
            pieces.push((g, piece.to_vec()));
        }
    }
    let total = pieces.len();
    let cluster = own.cluster.clone();
    let chunks = pieces
        .into_iter()
        .enumerate()
        .filter_map(|(i, (g, piece))| {
            let group = groups.get(g)?;
            let user = group.user_label.clone().flatten();
            let mut indices_of = IndexSet::default();
            for (_, users) in &piece {
                indices_of.extend(users);
            }
            let mut options = group.options.clone();
            options.user_label.clone_from(&user);
            Some(Chunk {
                task: Task {
                    direction,
                    number: i + 1,
                    label: array_label(
                        &cluster,
                        array_job_id,
                        direction,
                        i + 1,
                        total,
                        user.as_deref(),
                    ),
                    source: group.source.clone(),
                    destination: group.destination.clone(),
                    options,
                    items: piece.into_iter().map(|(item, _)| item).collect(),
                },
                indices: indices_of,
            })
        })
        .collect();
    Ok(ArrayPlan {
        cluster,
        array_job_id,
        direction,
        indices: indices.clone(),
        chunks,
    })
}

/// Whether every item of `own` (one element's plan, one direction) is carried by `chunks`:
/// source and destination collections and paths alike.
pub fn carries_all<'a>(
    own: &[Task],
    chunks: impl IntoIterator<Item = (&'a CollectionId, &'a CollectionId, &'a str, &'a str)>,
) -> bool {
    let carried: BTreeMap<(&CollectionId, &CollectionId, &str), &str> = chunks
        .into_iter()
        .map(|(s, d, src, dst)| ((s, d, dst), src))
        .collect();
    own.iter().all(|t| {
        t.items.iter().all(|i| {
            carried.get(&(&t.source.id, &t.destination.id, i.destination_path.as_str()))
                == Some(&i.source_path.as_str())
        })
    })
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::directive::{ParseOptions, parse_all};

    const CONFIG: &str = r#"
[cluster]
name = "grex"
collection = "aaaaaaaa-0000-0000-0000-000000000001"
paths = [ { local = "/home", collection = "/home" } ]

[collections.cedar]
id = "cccccccc-0000-0000-0000-000000000002"
"#;

    fn config() -> Config {
        Config::from_toml_str(CONFIG, Path::new("site.toml")).unwrap()
    }

    fn element(index: u32) -> JobContext {
        JobContext {
            job_id: 1000 + u64::from(index),
            array_job_id: Some(1000),
            array_task_id: Some(index),
            user: "alice".to_owned(),
            job_name: "analyse".to_owned(),
            work_dir: PathBuf::from("/home/alice/run"),
            submit_dir: PathBuf::from("/home/alice/run"),
            cluster_name: Some("grex".to_owned()),
            home: Some(PathBuf::from("/home/alice")),
            now: chrono::DateTime::from_timestamp(1_900_000_000, 0).unwrap(),
        }
    }

    fn array(lines: &str, indices: &str, max: usize) -> Result<ArrayPlan, NotCoalesced> {
        let script = format!("#!/bin/bash\n{lines}\nsrun work\n");
        let parsed = parse_all(&script, &ParseOptions::default());
        let set = IndexSet::parse(indices).unwrap();
        plan_array(
            &parsed.directives,
            &element(3),
            &config(),
            &set,
            Direction::In,
            max,
        )
    }

    #[test]
    fn index_sets_read_and_print_slurm_notation() {
        let s = IndexSet::parse("0-4,7,10-20:5%4").unwrap();
        assert_eq!(s.iter().collect::<Vec<_>>(), [0, 1, 2, 3, 4, 7, 10, 15, 20]);
        assert_eq!(s.to_string(), "0-4,7,10,15,20");
        assert_eq!(IndexSet::parse("[1-3]").unwrap().to_string(), "1-3");
        for bad in ["", "a", "5-1", "1-9:0", "1,,2", "0-4294967295"] {
            assert_eq!(IndexSet::parse(bad), None, "{bad}");
        }
        let env = IndexSet::from_min_max_step("0", "9", Some("3")).unwrap();
        assert_eq!(env.to_string(), "0,3,6,9");
    }

    #[test]
    fn a_thousand_elements_from_one_site_are_one_task_per_ten_thousand_items() {
        let p = array(
            "#GLOBUS stage-in cedar:/data/in_%a.dat ./in/\n#GLOBUS stage-in cedar:/data/common/ ./common/",
            "0-999",
            10_000,
        )
        .unwrap();
        assert_eq!(p.chunks.len(), 1);
        let chunk = &p.chunks[0];
        assert_eq!(
            chunk.task.items.len(),
            1001,
            "1000 own files and one shared folder"
        );
        assert_eq!(chunk.indices.len(), 1000);
        assert_eq!(chunk.task.label, "gstage grex 1000 in array 1 of 1");
        let small = array("#GLOBUS stage-in cedar:/data/in_%a.dat ./in/", "0-999", 300).unwrap();
        assert_eq!(small.chunks.len(), 4);
        assert_eq!(
            small.chunks[3].task.label,
            "gstage grex 1000 in array 4 of 4"
        );
        assert_eq!(small.chunks_of(650).count(), 1);
        assert_eq!(
            small.chunks_of(650).next().unwrap().indices.to_string(),
            "600-899"
        );
        assert_eq!(small.subject_job_id(), "1000_*");
    }

    #[test]
    fn a_shared_input_is_one_item_in_every_elements_chunk() {
        let p = array("#GLOBUS stage-in cedar:/ref/genome.fa ./ref/", "0-9", 4).unwrap();
        assert_eq!(p.chunks.len(), 1);
        assert_eq!(p.chunks[0].task.items.len(), 1);
        assert!((0..10).all(|i| p.chunks_of(i).count() == 1));
    }

    #[test]
    fn what_cannot_be_shared_is_staged_per_element() {
        assert_eq!(
            array("#GLOBUS stage-in cedar:/data/%j.dat ./in/", "0-9", 100),
            Err(NotCoalesced::UsesJobId)
        );
        assert!(matches!(
            array(
                "#GLOBUS stage-in cedar:/data/in_%a.dat ./in/x.dat",
                "0-9",
                100
            ),
            Err(NotCoalesced::DestinationConflict {
                first: 0,
                second: 1,
                ..
            })
        ));
        let script = "#GLOBUS stage-in cedar:/d ./in/\n";
        let parsed = parse_all(script, &ParseOptions::default());
        let mut single = element(3);
        single.array_job_id = None;
        assert_eq!(
            plan_array(
                &parsed.directives,
                &single,
                &config(),
                &IndexSet::single(3),
                Direction::In,
                9
            ),
            Err(NotCoalesced::NotAnArray(1003))
        );
    }

    #[test]
    fn elements_own_items_are_found_in_the_chunks() {
        let lines = "#GLOBUS stage-in cedar:/data/in_%a.dat ./in/";
        let p = array(lines, "0-99", 30).unwrap();
        let script = format!("#!/bin/bash\n{lines}\n");
        let parsed = parse_all(&script, &ParseOptions::default());
        let own = plan(&parsed.directives, &element(42), &config()).unwrap();
        let rows = |chunks: Vec<&Chunk>| -> Vec<(CollectionId, CollectionId, String, String)> {
            chunks
                .iter()
                .flat_map(|c| {
                    c.task.items.iter().map(|i| {
                        (
                            c.task.source.id,
                            c.task.destination.id,
                            i.source_path.clone(),
                            i.destination_path.clone(),
                        )
                    })
                })
                .collect()
        };
        let mine = rows(p.chunks_of(42).collect());
        let other = rows(p.chunks_of(0).collect());
        assert!(carries_all(
            &own.stage_in,
            mine.iter()
                .map(|(s, d, a, b)| (s, d, a.as_str(), b.as_str()))
        ));
        assert!(!carries_all(
            &own.stage_in,
            other
                .iter()
                .map(|(s, d, a, b)| (s, d, a.as_str(), b.as_str()))
        ));
    }
}
