# Shared by slurm/testbed/up and slurm/testbed/down (sourced, not run).
# shellcheck shell=bash

say() { printf 'testbed: %s\n' "$*"; }
die() {
    printf 'testbed: error: %s\n' "$*" >&2
    exit 1
}

# Seconds since the epoch with milliseconds, for the timings `up` and `down` print.
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

# The test bed's files live in the checkout's target/ folder unless --dir says otherwise.
default_dir() { printf '%s/target/slurm-testbed' "$1"; }

# The pid a pid file names, if that process is alive and is the daemon we started (a reused pid
# belongs to someone else and is never signalled).
live_pid() {
    local pidfile=$1 name=$2 pid comm
    [ -r "$pidfile" ] || return 1
    pid=$(tr -dc '0-9' <"$pidfile")
    [ -n "$pid" ] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    [ "$comm" = "$name" ] || return 1
    printf '%s' "$pid"
}

# Stops one daemon by its pid file: SIGTERM, up to 10 s for it to exit, then SIGKILL.
stop_daemon() {
    local pidfile=$1 name=$2 pid i
    if ! pid=$(live_pid "$pidfile" "$name"); then
        rm -f "$pidfile"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "$name (pid $pid) ignored SIGTERM for 10 s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    kill -0 "$pid" 2>/dev/null && die "$name (pid $pid) is still running after SIGKILL"
    rm -f "$pidfile"
    say "stopped $name (pid $pid)"
}

# The sudoers drop-in the SlurmUser=slurm variant installs; `down` removes it.
export SUDOERS_FILE=/etc/sudoers.d/gstage-testbed
export SUDOERS_MARK='# Written by the gstage Slurm test bed'
