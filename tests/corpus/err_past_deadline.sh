#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-in cedar:/a ./a --deadline 2001-01-01
python run.py
