#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-out ./a cedar:/out/r
#GLOBUS stage-out ./b cedar:/out/r
python run.py
