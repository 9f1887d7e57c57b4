//! Slurm: the job a command acts for (and, later, scontrol/sbatch calls, hooks and burst buffer
//! phases).

pub mod context;
