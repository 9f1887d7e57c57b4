#!/bin/bash
#SBATCH --time=01:00:00
python run.py
