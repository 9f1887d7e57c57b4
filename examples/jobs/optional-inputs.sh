#!/bin/bash
# The job runs even if an optional input cannot be staged (a cache that may not exist yet); it
# checks for the file itself. A required input that fails keeps the job from running.
#SBATCH --job-name=train
#SBATCH --time=08:00:00
#SBATCH --gpus=1
#GLOBUS stage-in  cedar:/project/def-lab/datasets/images/  ./data/  --sync-level size
#GLOBUS stage-in  cedar:/project/def-lab/cache/features.npz  ./cache/features.npz  --optional
#GLOBUS stage-out ./model/  cedar:/project/def-lab/models/%x-%j/

if [ -f cache/features.npz ]; then
    python train.py --features cache/features.npz data/ model/
else
    python train.py data/ model/
fi
