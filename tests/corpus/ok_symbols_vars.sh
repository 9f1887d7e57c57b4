#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-out ./o/ cedar:/r/${USER}/$SLURM_JOB_ID/$SLURM_CLUSTER_NAME/${SLURM_JOB_NAME}/
python run.py
