#!/bin/bash
#SBATCH --time=01:00:00
#GLOBUS stage-in cedr:/a ./a
#GLOBUS stage-out ./o cedar:/r/$TMPDIR --when sometimes
#GLOBUS stage-in /etc/passwd ./p
#GLOBUS frob
python run.py
