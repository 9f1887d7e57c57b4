#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-in 'cedar:/p/my data/' "./my data/"
#GLOBUS stage-in cedar:/p/x\ y ./x\ y
python run.py
