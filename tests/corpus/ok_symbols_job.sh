#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-out ./o/ cedar:/r/%u/%x/%j/%d/
python run.py
