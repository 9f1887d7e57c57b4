#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-in eeeeeeee-0000-0000-0000-000000000009:/x ./x
python run.py
