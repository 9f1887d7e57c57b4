//! A local emulator of the parts of Globus Auth and Transfer that gstage uses.
//!
//! The real services cannot be reached from a test machine, so this crate serves a faithful
//! imitation on one local port: Auth under `/v2/...`, Transfer under `/v0.10/...`. Collections
//! are local directories, transfers really copy files, tasks progress asynchronously at a
//! configurable rate, and faults can be injected. It is an independent reading of the API
//! reference and shares no types with the gstage client, so the two check each other; the real
//! `globus` CLI is the third opinion (see `tests/conformance.rs`).
//!
//! # Public API
//! - [`Config`]: the emulated world, from TOML ([`Config::from_file`], [`Config::from_toml_str`])
//!   or built in code: `Config::new().identity(..).native_client(..).confidential_client(..)
//!   .collection(..)`, with [`Identity`] and [`Collection`] builders.
//! - [`Emulator::start`]`(config, addr).await` runs on the caller's tokio runtime;
//!   [`Emulator::spawn`]`(config)` runs on its own thread and returns an [`EmulatorHandle`] that
//!   stops the emulator when dropped and dereferences to [`Emulator`].
//! - [`Emulator::base_url`] is `http://127.0.0.1:PORT`, usable as both
//!   `GLOBUS_SDK_SERVICE_URL_AUTH` and `GLOBUS_SDK_SERVICE_URL_TRANSFER`.
//! - Control for tests: [`Emulator::inject`] a [`FaultRule`] (a [`Fault`] by route, count or
//!   seeded probability), [`Emulator::revoke_token`], [`Emulator::mint_tokens`],
//!   [`Emulator::grant_consent`], [`Emulator::set_task_status`] (INACTIVE),
//!   [`Emulator::expire_access_tokens`], [`Emulator::stats`], [`Emulator::requests`],
//!   [`Emulator::tasks`]. The same controls are HTTP calls under `/_emulator/` (see README).
//!
//! ```no_run
//! use globus_emulator::{Collection, Config, Emulator, Identity};
//! # fn main() -> Result<(), globus_emulator::Error> {
//! let config = Config::new()
//!     .identity(Identity::new("alice@umanitoba.ca"))
//!     .native_client(uuid::Uuid::new_v4())
//!     .collection(Collection::new(uuid::Uuid::new_v4(), "Cedar", "/tmp/cedar"));
//! let emulator = Emulator::spawn(config)?;
//! println!("{}", emulator.base_url());
//! # Ok(())
//! # }
//! ```

#![recursion_limit = "256"]
#![warn(
    clippy::pedantic,
    unreachable_pub,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod auth;
mod config;
mod control;
mod engine;
mod error;
mod faults;
mod hostile;
mod paths;
mod scope;
mod server;
mod store;
mod task;
mod transfer;

pub use config::{Client, Collection, Config, Identity};
pub use control::MintedTokens;
pub use error::Error;
pub use faults::{Fault, FaultRule, rules_for_shares, transient_mix};
pub use server::{Emulator, EmulatorHandle};
pub use store::{RequestRecord, Stats, busiest_second};
pub use task::{TaskSnapshot, TaskStatus};
