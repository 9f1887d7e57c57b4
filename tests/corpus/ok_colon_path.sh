#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-in cedar:/p/a:b ./a:b
python run.py
