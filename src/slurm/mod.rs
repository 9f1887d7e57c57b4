//! Slurm: the job a command acts for, calls to Slurm's commands, the burst buffer phases, the
//! controller hooks, the sbatch wrapper, and handing a hook's work to the job's user.

pub mod array;
pub mod bb;
pub mod context;
pub mod handoff;
pub mod sbatch;
pub mod scontrol;
pub mod spool;
