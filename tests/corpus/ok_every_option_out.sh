#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-out ./f.dat cedar:/r/f.dat --when=failure --external-checksum 0123abcd --checksum-algorithm sha256 --verify-checksum -s checksum --preserve-timestamp --encrypt-data --no-recursive --notify off
python run.py
