#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-in cedar:/a ./a
#GLOBUS stage-in cedar:/b ./b --encrypt
python run.py
