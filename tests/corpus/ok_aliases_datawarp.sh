#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage_in cedar:/a ./a
#GLOBUS stage_out ./b cedar:/b
python run.py
