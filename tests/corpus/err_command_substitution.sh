#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-in cedar:/$(whoami) ./a
python run.py
