-- Lmod modulefile for gstage. Install as <modulefiles>/gstage/0.1.0.lua and adjust `root`.
help([[
gstage: Globus data staging for Slurm jobs.

  gstage login                 log in to Globus once (tokens are renewed automatically)
  gstage check job.sh          validate a job script's #GLOBUS lines and show the transfers
  gstage sbatch job.sh         submit with staging on clusters without the Slurm integration
  gstage status JOBID          the job's transfers
  gstage doctor                check the setup, with a fix for anything wrong

Manual pages: man gstage. Documentation: docs/ in the gstage source.
]])
whatis("Name: gstage")
whatis("Version: 0.1.0")
whatis("Description: Globus data staging for Slurm jobs")
whatis("URL: https://www.globus.org/")

local root = "/opt/software/gstage/0.1.0"

prepend_path("PATH", pathJoin(root, "bin"))
prepend_path("MANPATH", pathJoin(root, "share/man"))
-- Tab completion for bash users (zsh and fish: see `gstage completions --help`).
if (myShellType() == "sh") then
    execute{cmd = "source " .. pathJoin(root, "share/bash-completion/completions/gstage"), modeA = {"load"}}
end
-- The site config lives in /etc/gstage/config.toml; a software stack that cannot write /etc
-- points gstage at its own copy instead.
-- setenv("GSTAGE_CONFIG", pathJoin(root, "etc/config.toml"))
