#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-in cedar:/a ./a --sync-levl checksum
python run.py
