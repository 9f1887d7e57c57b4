#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-in cedar:/a ./a
echo start
#GLOBUS stage-in cedar:/b ./b
python run.py
