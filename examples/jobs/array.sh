#!/bin/bash
# A job array: element N reads sample N and writes its own results folder. `%a` is the array
# task id and `%A` the array's job id, as in `#SBATCH --output`. Elements that stage between the
# same collections are grouped into as few Globus tasks as the Globus limits allow.
#SBATCH --job-name=samples
#SBATCH --array=1-20
#SBATCH --time=01:00:00
#SBATCH --output=logs/%x-%A_%a.out
#GLOBUS stage-in  narval:/project/def-lab/samples/sample-%a.fastq  ./input/sample.fastq
#GLOBUS stage-in  narval:/project/def-lab/samples/reference/  ./reference/
#GLOBUS stage-out ./results/  narval:/project/def-lab/results/%A/sample-%a/

./align reference/ input/sample.fastq results/
