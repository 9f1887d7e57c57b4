#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-in cedar:/p /project/lab/p
python run.py
