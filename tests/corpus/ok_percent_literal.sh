#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-in cedar:/p/100%%/ ./full/
python run.py
