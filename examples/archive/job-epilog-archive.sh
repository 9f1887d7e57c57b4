#!/bin/bash
# Archives a finished job's outputs, keyed by its job id, from a workflow step or an epilog
# where SLURM_JOB_ID is set. `%j` expands to the job id in the key and in paths, so a step that
# is retried (or an epilog run again after a slurmctld restart) submits nothing new.
set -euo pipefail

cd "${SLURM_SUBMIT_DIR:?run inside a job or its epilog}"
gstage transfer ./output/ nearline:/nearline/def-lab/jobs/%j/ \
    --recursive --exclude "*.tmp" --exclude "core.*" \
    --key job-%j
# (the same with the shell's variable: --key "job-$SLURM_JOB_ID")
