#!/bin/bash
# Results and logs are archived to the national site's nearline storage whether the job
# succeeded or failed (`--when always`, the default, written out here so it is seen). Only the
# files that matter are sent, and a failed job's partial results still arrive.
#SBATCH --job-name=simulate
#SBATCH --time=12:00:00
#SBATCH --ntasks=32
#SBATCH --output=logs/%x-%j.out
#GLOBUS defaults --preserve-mtime --sync-level checksum
#GLOBUS stage-out ./output/  nearline:/nearline/def-lab/archive/%x/%j/ \
#GLOBUS     --when always --include "*.h5" --include "*.json" --exclude "*"
#GLOBUS stage-out ./logs/  nearline:/nearline/def-lab/archive/%x/%j/logs/  --when always
#GLOBUS stage-out ./checkpoint/  cedar:/scratch/alice/checkpoints/%j/  --when failure

srun ./simulate --output output/ --checkpoint checkpoint/
