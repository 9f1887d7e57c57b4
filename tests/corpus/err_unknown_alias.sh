#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-in cedr:/a ./a
python run.py
