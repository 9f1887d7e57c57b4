#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-in cedar:/ref/genome.fa ./data/
#GLOBUS stage-out ./slurm.log cedar:/logs/
python run.py
