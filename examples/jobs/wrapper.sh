#!/bin/bash
# For clusters without gstage's Slurm integration: submit with
#
#     gstage sbatch wrapper.sh
#
# instead of `sbatch wrapper.sh`. gstage submits the stage-in at once, then three Slurm jobs: a
# small gate job that waits for the stage-in, this job (after the gate succeeds) and a small
# stage-out job (after this job ends, however it ends). `gstage status JOBID` shows them all.
# The same script also works unchanged where the site has installed the burst buffer
# integration, with plain `sbatch`.
#SBATCH --job-name=wrapped
#SBATCH --time=02:00:00
#GLOBUS stage-in  cedar:/project/def-lab/runs/input/  ./input/
#GLOBUS stage-out ./results/  cedar:/project/def-lab/runs/%j/  --notify failed

./run.sh input/ results/
