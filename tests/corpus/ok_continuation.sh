#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-in cedar:/a/ \
#GLOBUS     ./a/ \
#GLOBUS     --sync-level size
python run.py
