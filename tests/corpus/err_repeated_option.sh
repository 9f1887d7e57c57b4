#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-in cedar:/a ./a --verify-checksum --no-verify-checksum
python run.py
