//! `gstage demo`: the whole staging cycle, for real, on an embedded Globus emulator.
//!
//! The demo builds a small world in a temporary directory: a national site ("Alliance Cedar")
//! holding a project's input, the cluster's own collection ("Grex", a local directory mapped
//! like `/home` on a cluster), a site config pointing at the emulator and a login minted by it.
//! It then runs the commands a researcher would — `check`, `stage-in`, the job itself (with the
//! `SLURM_*` context set), `stage-out`, `status` — as `gstage` processes with that environment,
//! and finally compares every staged file byte for byte. Nothing but 127.0.0.1 is contacted and
//! nothing is left running.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};

use super::Context;
use crate::cli::DemoArgs;
use crate::env;
use crate::exit::{self, Reported};
use crate::globus::TokenResponse;
use crate::globus::scopes::transfer_scope_with_data_access;
use crate::tokens::{StoredLogin, TokenStore};

const USER: &str = "alice@example.org";
const JOB_ID: &str = "1001";

const SCRIPT: &str = "#!/bin/sh
#SBATCH --job-name=analyse --time=00:10:00
#GLOBUS stage-in  cedar:/project/def-lab/input/  ./input/  --sync-level checksum
#GLOBUS stage-out ./results/  cedar:/project/def-lab/runs/%j/  --when always
# The job: rank the samples by value and count them.
mkdir -p results
sort -t, -k2 -n -r input/*.csv > results/ranked.csv
wc -l input/*.csv > results/counts.txt
echo \"job $SLURM_JOB_ID ($SLURM_JOB_NAME) ranked $(wc -l < results/ranked.csv) samples\" > results/log.txt
";

/// Runs `gstage demo`.
pub fn run(args: &DemoArgs, _ctx: &Context) -> Result<()> {
    let started = Instant::now();
    let temp;
    let root: PathBuf = match &args.keep {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating `{}`", dir.display()))?;
            dir.canonicalize()?
        }
        None => {
            temp = tempfile::Builder::new().prefix("gstage-demo-").tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let world = World::build(&root)?;
    let emu = globus_emulator::Emulator::spawn(world.emulator_config())
        .map_err(|e| anyhow::anyhow!("cannot start the embedded Globus emulator: {e}"))?;
    let base = emu.base_url();
    world.write_site_config(&base)?;
    say(&format!(
        "1. A Globus emulator is serving Auth and Transfer at {base}, with two collections:\n   \
         \"Grex\" (this cluster's own collection, {})\n   \"Alliance Cedar\" (a national site, {})",
        world.grex.display(),
        world.cedar.display()
    ));
    world.login(&emu)?;
    say(&format!(
        "2. Logged in as {USER} (refresh token stored in {}).",
        world.token_store().path().display()
    ));
    say(&format!(
        "3. A job script in {}:\n\n{}",
        world.run_dir().display(),
        indent(SCRIPT)
    ));
    world.gstage(&["check", "job.sh", "--job-id", JOB_ID, "--cluster", "grex"])?;
    say("4. Stage-in: one Globus task for the job, submitted exactly once, waited for.");
    world.gstage(&[
        "stage-in",
        "--script",
        "job.sh",
        "--job-id",
        JOB_ID,
        "--interval",
        "0.3",
    ])?;
    say("   Running it again submits nothing: the ledger holds the task.");
    world.gstage(&[
        "stage-in",
        "--script",
        "job.sh",
        "--job-id",
        JOB_ID,
        "--no-wait",
    ])?;
    say("5. The job runs (as Slurm would start it, with its SLURM_* variables):");
    world.run_job()?;
    say(&indent(&std::fs::read_to_string(
        world.run_dir().join("results/log.txt"),
    )?));
    say("6. Stage-out of the results (--when always), waited for:");
    world.gstage(&[
        "stage-out",
        "--script",
        "job.sh",
        "--job-id",
        JOB_ID,
        "--exit-code",
        "0",
        "--wait",
        "--interval",
        "0.3",
    ])?;
    say("7. What the ledger says about the job:");
    world.gstage(&["status", JOB_ID, "--cluster", "grex"])?;
    say("8. Checking every file byte for byte:");
    let checked = world.verify()?;
    let stats = emu.stats();
    let transfer: u64 = stats
        .requests_by_route
        .iter()
        .filter(|(route, _)| route.contains("/v0.10/"))
        .map(|(_, n)| n)
        .sum();
    say(&format!(
        "\nAll {checked} files arrived intact: input at {}, results at {}.\n\
         {} Globus tasks, {transfer} Transfer API requests, {:.1}s. The emulator has stopped{}.",
        world.run_dir().join("input").display(),
        world
            .cedar
            .join("project/def-lab/runs")
            .join(JOB_ID)
            .display(),
        emu.tasks().len(),
        started.elapsed().as_secs_f64(),
        if args.keep.is_some() {
            format!("; the files are kept in {}", root.display())
        } else {
            " and its files are removed".to_owned()
        }
    ));
    drop(emu);
    Ok(())
}

fn say(text: &str) {
    println!("{text}");
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The demo's directories and identities.
struct World {
    root: PathBuf,
    cedar: PathBuf,
    grex: PathBuf,
    client_id: uuid::Uuid,
    cedar_id: uuid::Uuid,
    grex_id: uuid::Uuid,
}

impl World {
    fn build(root: &Path) -> Result<World> {
        let world = World {
            root: root.to_path_buf(),
            cedar: root.join("cedar"),
            grex: root.join("grex"),
            client_id: uuid::Uuid::new_v4(),
            cedar_id: uuid::Uuid::new_v4(),
            grex_id: uuid::Uuid::new_v4(),
        };
        let input = world.cedar.join("project/def-lab/input");
        for dir in [
            &input,
            &world.run_dir(),
            &root.join("config"),
            &root.join("state"),
        ] {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating `{}`", dir.display()))?;
        }
        for (name, rows) in [
            ("site-a.csv", 40u64),
            ("site-b.csv", 25),
            ("site-c.csv", 60),
        ] {
            let text: String = (1..=rows)
                .map(|i| format!("{name}-{i},{}\n", (i * 7919 + rows * 31) % 1000))
                .collect();
            std::fs::write(input.join(name), text)?;
        }
        std::fs::write(world.run_dir().join("job.sh"), SCRIPT)?;
        Ok(world)
    }

    fn run_dir(&self) -> PathBuf {
        self.grex.join("home/alice/run")
    }

    fn token_store(&self) -> TokenStore {
        TokenStore::at(self.root.join("config/gstage/tokens.json"))
    }

    fn emulator_config(&self) -> globus_emulator::Config {
        globus_emulator::Config::new()
            .identity(globus_emulator::Identity::new(USER).name("Alice Tremblay"))
            .native_client(self.client_id)
            .collection(globus_emulator::Collection::new(
                self.grex_id,
                "Grex",
                &self.grex,
            ))
            .collection(globus_emulator::Collection::new(
                self.cedar_id,
                "Alliance Cedar",
                &self.cedar,
            ))
            .throughput(20_000)
    }

    fn write_site_config(&self, base: &str) -> Result<()> {
        let text = format!(
            r#"# The site config a cluster's admins write, pointed at the demo's emulator.
[globus]
client_id = "{client}"
auth_url = "{base}"
transfer_url = "{base}"

[cluster]
name = "grex"
display_name = "Grex"
collection = "{grex}"
paths = [ {{ local = "{home}", collection = "/home" }} ]

[collections.cedar]
id = "{cedar}"
display_name = "Alliance Cedar"
"#,
            client = self.client_id,
            grex = self.grex_id,
            cedar = self.cedar_id,
            home = self.grex.join("home").display(),
        );
        std::fs::write(self.root.join("site.toml"), text)?;
        Ok(())
    }

    /// Stores the login `gstage login` would, with tokens the emulator mints.
    fn login(&self, emu: &globus_emulator::Emulator) -> Result<()> {
        let ids = [self.grex_id.to_string(), self.cedar_id.to_string()];
        let scopes = format!(
            "openid profile email {}",
            transfer_scope_with_data_access(&ids)
        );
        let minted = emu
            .mint_tokens(USER, &scopes, Some(self.client_id))
            .map_err(|e| anyhow::anyhow!("the emulator did not log the demo user in: {e}"))?;
        let response: TokenResponse = serde_json::from_value(minted.response)?;
        let mut login = StoredLogin::new(Some(self.client_id.to_string()));
        login.consented_collections = ids.to_vec();
        for t in response.into_stored(chrono::Utc::now().timestamp()) {
            login.tokens.insert(t.resource_server.clone(), t);
        }
        self.token_store().save(&login)?;
        Ok(())
    }

    /// A command with the demo's environment: its config, login and ledger only.
    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(self.run_dir())
            .env_clear()
            .env(
                "PATH",
                std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
            )
            .env(env::HOME, self.grex.join("home/alice"))
            .env(env::USER, "alice")
            .env(env::XDG_CONFIG_HOME, self.root.join("config"))
            .env(env::GSTAGE_CONFIG, self.root.join("site.toml"))
            .env(env::GSTAGE_LEDGER, self.root.join("state/ledger.sqlite"));
        if let Some(term) = std::env::var_os("TERM") {
            cmd.env("TERM", term);
        }
        cmd
    }

    /// Runs `gstage ARGS`, showing the command line and its output.
    fn gstage(&self, args: &[&str]) -> Result<()> {
        println!("\n  $ gstage {}", args.join(" "));
        let exe = std::env::current_exe().context("finding the gstage executable")?;
        let status = self.command(&exe).args(args).status()?;
        println!();
        if !status.success() {
            bail!(Reported {
                code: exit::FAILURE,
                summary: format!("the demo's `gstage {}` failed ({status})", args.join(" ")),
            });
        }
        Ok(())
    }

    /// Runs the job script as Slurm would, in its working directory.
    fn run_job(&self) -> Result<()> {
        let dir = self.run_dir();
        let status = self
            .command(Path::new("/bin/sh"))
            .arg("job.sh")
            .env(env::SLURM_JOB_ID, JOB_ID)
            .env(env::SLURM_JOB_NAME, "analyse")
            .env(env::SLURM_SUBMIT_DIR, &dir)
            .env(env::SLURM_CLUSTER_NAME, "grex")
            .status()
            .context("running the job script with /bin/sh")?;
        if !status.success() {
            bail!(Reported {
                code: exit::FAILURE,
                summary: format!("the demo job failed ({status})"),
            });
        }
        Ok(())
    }

    /// Compares input and results with their copies; returns how many files matched.
    fn verify(&self) -> Result<usize> {
        let pairs = [
            (
                self.cedar.join("project/def-lab/input"),
                self.run_dir().join("input"),
            ),
            (
                self.run_dir().join("results"),
                self.cedar.join("project/def-lab/runs").join(JOB_ID),
            ),
        ];
        let mut checked = 0;
        for (from, to) in &pairs {
            let mut names: Vec<_> = std::fs::read_dir(from)?
                .filter_map(|e| e.ok().map(|e| e.file_name()))
                .collect();
            names.sort();
            if names.is_empty() {
                bail!(Reported {
                    code: exit::FAILURE,
                    summary: format!("`{}` is empty: nothing was staged", from.display()),
                });
            }
            for name in names {
                let (a, b) = (from.join(&name), to.join(&name));
                let original = std::fs::read(&a)?;
                let copy = std::fs::read(&b).unwrap_or_default();
                if original != copy {
                    bail!(Reported {
                        code: exit::FAILURE,
                        summary: format!(
                            "`{}` and its copy `{}` differ: the demo's transfer went wrong",
                            a.display(),
                            b.display()
                        ),
                    });
                }
                println!("   identical  {}  ({} bytes)", b.display(), copy.len());
                checked += 1;
            }
        }
        Ok(checked)
    }
}
