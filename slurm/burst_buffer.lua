--[[
burst_buffer.lua for gstage: Globus staging through Slurm's burst_buffer/lua plugin.

Install it as `burst_buffer.lua` next to slurm.conf, with `BurstBufferType=burst_buffer/lua` in
slurm.conf and `Directive=GLOBUS` in burst_buffer.conf (see slurm/README.md). Every Slurm call is
forwarded to `gstage bb <phase> <args...>`, so all logic lives in one tested program and this
file stays a thin, version-independent adapter.

The contract with gstage:
  - arguments are the ones Slurm 22.05 passes, in its order (later versions append uid/gid,
    which are not forwarded, so gstage sees one stable command line);
  - exit status 0 is success, anything else an error;
  - what gstage prints (stdout and stderr) is the message: its first line becomes the job's
    Reason, except for job_process (shown in full by sbatch) and get_status (shown in full by
    `scontrol show bbstat`).

slurmctld may run with a minimal environment, so nothing here depends on PATH or HOME: the
settings block below names gstage by its full path and lists the environment it needs. Slurm
re-reads this file on every call, so edits take effect without a restart.
--]]

-- >>> settings (slurm/install and the Slurm test bed rewrite this block)
local GSTAGE = "/usr/bin/gstage"
local ENV = {}
-- <<< settings

-- Site option: keep jobs in STAGE_OUT until their stage-out transfer has finished (Slurm 22.05
-- and 23.x; bounded by StageOutTimeout). By default data_out only submits the stage-out, the job
-- completes at once, and `gstage status JOBID` follows the transfer.
local WAIT_FOR_STAGE_OUT = false

-- job_process runs inside slurmctld with its locks held: a hung command would stall the whole
-- controller, so it is bounded. Offline validation takes milliseconds; this is only a safety net.
local TIMEOUT = "/usr/bin/timeout"
local LOCKED_LIMIT_SECONDS = 10

-- Quotes one word for /bin/sh: nothing a job script path or bbstat argument holds can escape.
local function shell_quote(value)
	return "'" .. string.gsub(tostring(value), "'", "'\\''") .. "'"
end

-- Lua 5.1 has no stat; opening the file costs no process, which matters inside slurmctld.
local function exists(path)
	local file = io.open(path, "r")
	if file then
		file:close()
		return true
	end
	return false
end

local function env_prefix()
	local names = {}
	for name, _ in pairs(ENV) do
		if string.match(name, "^[A-Za-z_][A-Za-z0-9_]*$") then
			names[#names + 1] = name
		else
			slurm.log_error("gstage: burst_buffer.lua: ignoring bad environment name %s", tostring(name))
		end
	end
	table.sort(names)
	local parts = {}
	for _, name in ipairs(names) do
		parts[#parts + 1] = name .. "=" .. shell_quote(ENV[name])
	end
	return table.concat(parts, " ")
end

local function trim(text)
	return (string.gsub(text, "^%s+", ""):gsub("%s+$", ""))
end

local function first_line(text)
	for line in string.gmatch(text, "[^\n]+") do
		local t = trim(line)
		if t ~= "" then
			return t
		end
	end
	return ""
end

-- Runs `gstage bb PHASE ARGS...` and returns its exit status and output. Lua 5.1's popen gives
-- no exit status on close, so the shell appends it as a last `__rc=N` line.
local function run(phase, args, bounded)
	if not exists(GSTAGE) then
		return nil, "gstage is not installed at " .. GSTAGE
			.. "; set GSTAGE in burst_buffer.lua to its full path"
	end
	local words = { shell_quote(GSTAGE), "bb", phase }
	for i = 1, args.n do
		words[#words + 1] = shell_quote(args[i] or "")
	end
	local shown = table.concat(words, " ")
	local command = shown
	if bounded and exists(TIMEOUT) then
		command = TIMEOUT .. " -k 1 " .. LOCKED_LIMIT_SECONDS .. " " .. command
	end
	local prefix = env_prefix()
	if prefix ~= "" then
		command = prefix .. " " .. command
	end
	slurm.log_info("gstage: running %s", shown)
	local pipe = io.popen(command .. " </dev/null 2>&1; echo \"__rc=$?\"")
	if not pipe then
		return nil, "cannot start gstage (" .. GSTAGE .. "): popen failed"
	end
	local output = pipe:read("*a") or ""
	pipe:close()
	local text, status = string.match(output, "^(.-)\n?__rc=(%d+)%s*$")
	if not status then
		return nil, "gstage bb " .. phase .. " ended without an exit status"
	end
	status = tonumber(status)
	-- timeout(1) exits 124 after SIGTERM, 137 when it had to SIGKILL.
	if bounded and (status == 124 or status == 137) then
		return status, "gstage bb " .. phase .. " took longer than " .. LOCKED_LIMIT_SECONDS
			.. " s and was stopped; run `gstage check` on the script to see why"
	end
	return status, text
end

-- Maps a run to Slurm's return convention. `whole` keeps the full output as the message
-- (job_process, get_status); otherwise its first line, which fits the job's Reason.
local function forward(phase, whole, bounded, ...)
	local args = { n = select("#", ...), ... }
	local status, text = run(phase, args, bounded)
	local message = whole and trim(text or "") or first_line(text or "")
	if status == 0 then
		if message == "" then
			return slurm.SUCCESS
		end
		return slurm.SUCCESS, message
	end
	if status == nil then
		slurm.log_error("gstage: bb %s: %s", phase, message)
	else
		slurm.log_error("gstage: bb %s exited with status %d: %s", phase, status, trim(text or ""))
	end
	if message == "" then
		message = "gstage bb " .. phase .. " failed with exit status " .. tostring(status)
	end
	return slurm.ERROR, message
end

-- Slurm 24.05 and later poll test_data_in/out and expose slurm.SLURM_BB_BUSY; there, data_in and
-- data_out only submit (`--no-wait`) and the polling functions report progress. Slurm 22.05 has
-- no polling, so data_in must wait for the transfer itself.
local function async_staging()
	return slurm.SLURM_BB_BUSY ~= nil
end

--[[ Called synchronously inside slurmctld at submission, with its locks held: only the fast,
offline validation runs here. An error rejects the job and sbatch prints the message. --]]
function slurm_bb_job_process(job_script)
	return forward("job_process", true, true, job_script)
end

--[[ Called inside slurmctld at startup and periodically. gstage uses no space pools, so this
answers at once without starting a process. --]]
function slurm_bb_pools()
	return slurm.SUCCESS
end

function slurm_bb_setup(job_id, uid, gid, pool, bb_size, job_script)
	return forward("setup", false, false, job_id, uid, gid, pool, bb_size, job_script)
end

function slurm_bb_data_in(job_id, job_script)
	if async_staging() then
		return forward("data_in", false, false, "--no-wait", job_id, job_script)
	end
	return forward("data_in", false, false, job_id, job_script)
end

--[[ Slurm 24.05+: polled while the job pends; gstage prints BUSY while the stage-in runs. --]]
function slurm_bb_test_data_in(job_id, job_script)
	return forward("test_data_in", false, false, job_id, job_script)
end

--[[ Only called when a job asks for a pool, which gstage jobs never do. --]]
function slurm_bb_real_size(job_id)
	return forward("real_size", false, false, job_id)
end

--[[ Called synchronously inside slurmctld before launch: KEY=VALUE lines gstage writes to
path_file (the job's task ids) are added to the job's environment. --]]
function slurm_bb_paths(job_id, job_script, path_file)
	return forward("paths", false, true, job_id, job_script, path_file)
end

function slurm_bb_pre_run(job_id, job_script)
	return forward("pre_run", false, false, job_id, job_script)
end

function slurm_bb_post_run(job_id, job_script)
	return forward("post_run", false, false, job_id, job_script)
end

function slurm_bb_data_out(job_id, job_script)
	if async_staging() then
		return forward("data_out", false, false, "--no-wait", job_id, job_script)
	end
	if WAIT_FOR_STAGE_OUT then
		return forward("data_out", false, false, "--wait", job_id, job_script)
	end
	return forward("data_out", false, false, job_id, job_script)
end

--[[ Slurm 24.05+: polled after data_out; gstage prints BUSY while the stage-out runs. --]]
function slurm_bb_test_data_out(job_id, job_script)
	return forward("test_data_out", false, false, job_id, job_script)
end

--[[ After stage-out, or at once when the job is cancelled (hurry is "true"): gstage cancels the
job's Globus tasks that are still active. --]]
function slurm_bb_job_teardown(job_id, job_script, hurry)
	return forward("teardown", false, false, job_id, job_script, hurry)
end

--[[ `scontrol show bbstat ARGS...`: the output is printed in full where scontrol ran. --]]
function slurm_bb_get_status(...)
	return forward("get_status", true, false, ...)
end
