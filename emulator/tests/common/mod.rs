//! Shared fixtures: a small emulated world with two readable collections on temp dirs.

#![allow(dead_code)] // each test binary uses a different part

pub mod http;

use std::path::{Path, PathBuf};

use globus_emulator::{Collection, Config, Identity};
use uuid::Uuid;

pub const ALICE: &str = "alice@umanitoba.ca";
pub const BOB: &str = "bob@sfu.ca";
pub const SECRET: &str = "conformance-secret";

/// Ids and directories of the fixture world.
pub struct World {
    pub dir: tempfile::TempDir,
    pub alice: Uuid,
    pub bob: Uuid,
    pub native: Uuid,
    pub confidential: Uuid,
    /// Mapped, not high assurance: needs data_access consent.
    pub cedar: Uuid,
    /// Mapped, consent not required.
    pub archive: Uuid,
    /// A GCSv5 endpoint entity (what `globus endpoint show` accepts).
    pub endpoint: Uuid,
    /// High assurance, needs a session in umanitoba.ca.
    pub grex: Uuid,
}

impl World {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        for d in ["cedar", "archive", "grex", "endpoint"] {
            std::fs::create_dir_all(dir.path().join(d)).expect("collection root");
        }
        Self {
            dir,
            alice: Uuid::new_v4(),
            bob: Uuid::new_v4(),
            native: Uuid::new_v4(),
            confidential: Uuid::new_v4(),
            cedar: Uuid::new_v4(),
            archive: Uuid::new_v4(),
            endpoint: Uuid::new_v4(),
            grex: Uuid::new_v4(),
        }
    }

    pub fn root(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn config(&self) -> Config {
        Config::new()
            .identity(Identity::new(ALICE).with_id(self.alice).name("Alice"))
            .identity(Identity::new(BOB).with_id(self.bob))
            .native_client(self.native)
            .confidential_client(self.confidential, SECRET)
            .collection(Collection::new(
                self.cedar,
                "Alliance Cedar",
                self.root("cedar"),
            ))
            .collection(
                Collection::new(self.archive, "Lab archive", self.root("archive"))
                    .data_access_required(false),
            )
            .collection(
                Collection::new(self.endpoint, "Cedar endpoint", self.root("endpoint"))
                    .entity_type("GCSv5_endpoint"),
            )
            .collection(
                Collection::new(self.grex, "Grex", self.root("grex"))
                    .high_assurance(true)
                    .required_domain("umanitoba.ca"),
            )
    }
}

/// Writes `bytes` to `path`, creating parents.
pub fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, bytes).expect("write");
}

/// Deterministic, incompressible-looking test content.
pub fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| u8::try_from((i * 31 + usize::from(seed) * 7) % 251).unwrap_or(0))
        .collect()
}
