#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-in  cedar:/project/def-lab/runs/input/   ./input/     --sync-level checksum
#GLOBUS stage-out ./results/  cedar:/project/def-lab/runs/%j/       --when always
python run.py
