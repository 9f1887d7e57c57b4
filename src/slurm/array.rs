//! Which indices a job array has, as its elements learn them: from their own environment inside
//! the job (`SLURM_ARRAY_TASK_MIN/MAX/STEP`), or from `scontrol show job <array job>` in hooks
//! and burst buffer phases, whose environment is Slurm's and not the job's.

use std::collections::BTreeMap;

use super::scontrol::{Error, Slurm, fields};
use crate::plan::array::IndexSet;

/// The array's indices from an element's environment; `None` outside an array element.
pub fn indices_from_env(vars: &BTreeMap<String, String>) -> Option<IndexSet> {
    let get = |k: &str| vars.get(k).map(String::as_str).filter(|v| !v.is_empty());
    IndexSet::from_min_max_step(
        get("SLURM_ARRAY_TASK_MIN")?,
        get("SLURM_ARRAY_TASK_MAX")?,
        get("SLURM_ARRAY_TASK_STEP"),
    )
}

/// Every index of array `array_job_id` among the records `scontrol -o show job` printed: the
/// elements already split off (one index each) and the still-pending rest (`5-999%10`).
/// Elements long finished may have left Slurm's memory; they no longer need a stage-in.
pub fn indices_from_records(text: &str, array_job_id: u64) -> Option<IndexSet> {
    let wanted = array_job_id.to_string();
    let mut all = IndexSet::default();
    for line in text.lines() {
        let record = fields(line);
        let get = |key: &str| {
            record
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        if get("ArrayJobId") != Some(wanted.as_str()) {
            continue;
        }
        if let Some(set) = get("ArrayTaskId").and_then(IndexSet::parse) {
            all.extend(&set);
        }
    }
    (!all.is_empty()).then_some(all)
}

impl Slurm {
    /// The indices of array `array_job_id` Slurm still knows (`scontrol -o show job`).
    pub fn array_indices(&self, array_job_id: u64) -> Result<Option<IndexSet>, Error> {
        let mut cmd = self.command("scontrol")?;
        cmd.args(["-o", "show", "job", &array_job_id.to_string()]);
        let text = self.run(cmd, None)?;
        Ok(indices_from_records(&text, array_job_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_rest_and_split_elements_together() {
        let text = "JobId=10 ArrayJobId=10 ArrayTaskId=5-9%2 JobName=a UserId=bob(7) JobState=PENDING\n\
                    JobId=12 ArrayJobId=10 ArrayTaskId=2 JobName=a UserId=bob(7) JobState=RUNNING\n\
                    JobId=13 ArrayJobId=10 ArrayTaskId=3 JobName=a UserId=bob(7) JobState=RUNNING\n\
                    JobId=99 ArrayJobId=98 ArrayTaskId=0 JobName=b UserId=bob(7) JobState=RUNNING\n";
        let set = indices_from_records(text, 10).unwrap();
        assert_eq!(set.to_string(), "2-3,5-9");
        assert_eq!(indices_from_records(text, 11), None);
    }

    #[test]
    fn the_elements_own_environment() {
        let vars: BTreeMap<String, String> = [
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_MAX", "8"),
            ("SLURM_ARRAY_TASK_STEP", "4"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(indices_from_env(&vars).unwrap().to_string(), "0,4,8");
        assert_eq!(indices_from_env(&BTreeMap::new()), None);
    }
}
