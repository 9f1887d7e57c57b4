#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-in cedar:~/inputs/ ./in/
python run.py
