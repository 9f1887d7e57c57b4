#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-in cedar:/p/in/ ./in/
python run.py
