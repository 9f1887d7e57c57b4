#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-out ./a cedar:/a --optional
python run.py
