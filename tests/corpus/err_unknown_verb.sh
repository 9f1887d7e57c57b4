#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stagein cedar:/a ./a
python run.py
