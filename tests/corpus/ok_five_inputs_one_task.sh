#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-in cedar:/p/in0 ./in0
#GLOBUS stage-in cedar:/p/in1 ./in1
#GLOBUS stage-in cedar:/p/in2 ./in2
#GLOBUS stage-in cedar:/p/in3 ./in3
#GLOBUS stage-in cedar:/p/in4 ./in4
python run.py
