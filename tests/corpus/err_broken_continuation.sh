#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-in cedar:/a ./a \
#SBATCH -N 1
python run.py
