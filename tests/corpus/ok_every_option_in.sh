#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-in cedar:/d/ ./d/ -r --sync-level=mtime --no-verify-checksum --preserve-mtime --encrypt --label "inputs of %x" --deadline 2099-01-01 --notify failed,inactive --skip-source-errors --fail-on-quota-errors --delete-destination-extra --include '*.dat' --exclude '*' --optional
python run.py
