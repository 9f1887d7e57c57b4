#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-in --sync-level size cedar:/a ./a
python run.py
