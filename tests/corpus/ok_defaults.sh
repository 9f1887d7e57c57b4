#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS defaults --sync-level checksum --exclude '*.tmp'
#GLOBUS stage-in cedar:/a ./a --include keep.tmp
#GLOBUS stage-in cedar:/b ./b
python run.py
