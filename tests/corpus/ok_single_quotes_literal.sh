#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-in 'cedar:/p/%j$USER' ./x
python run.py
