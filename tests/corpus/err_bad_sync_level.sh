#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-in cedar:/a ./a --sync-level fast
python run.py
