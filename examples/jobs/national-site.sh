#!/bin/bash
# Inputs come from a national site before the job starts; results go back after it ends.
# Submit with `sbatch national-site.sh` on a cluster with the burst buffer integration, or with
# `gstage sbatch national-site.sh` anywhere else. Check it first: `gstage check national-site.sh`.
#SBATCH --job-name=analyse
#SBATCH --time=04:00:00
#SBATCH --cpus-per-task=8
#SBATCH --mem=16G
#GLOBUS stage-in  cedar:/project/def-lab/runs/input/  ./input/    --sync-level checksum
#GLOBUS stage-in  cedar:/project/def-lab/reference/genome.fa  ./input/genome.fa
#GLOBUS stage-out ./results/  cedar:/project/def-lab/runs/%j/  --label "analyse %j results"

python analyse.py input/ results/
