//! gstage: Globus data staging for Slurm jobs.
//!
//! The pure core (`directive`, `plan`) turns a job script into a plan of Globus tasks without any
//! I/O; `config` and `slurm` gather the inputs; `commands` compose them, one file per subcommand.

pub mod archive;
pub mod cli;
pub mod collection;
pub mod commands;
pub mod config;
pub mod crashpoint;
pub mod directive;
pub mod doctor;
pub mod engine;
pub mod env;
pub mod exit;
pub mod globus;
pub mod ledger;
pub mod limits;
pub mod notify;
pub mod options;
pub mod output;
pub mod plan;
pub mod private_files;
pub mod privilege;
pub mod slurm;
pub mod tokens;
