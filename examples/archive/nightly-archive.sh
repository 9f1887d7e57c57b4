#!/bin/bash
# Archives a results tree to the national site's nearline storage, once per night.
# Run from cron (see crontab.txt). The key holds the date, so running this twice on one day
# (a retry, a cron catch-up after a reboot) submits nothing new: it reports, or with --wait
# waits for, the night's first task. Exit status: 0 archived, 1 failed, 2 usage, 4 login needed.
set -euo pipefail

results=/project/def-lab/results
day=$(date -u +%F)

# A service identity (a Globus confidential client) archives without anyone's login. Keep the
# secret in a file only the pipeline's account can read; never put it on a command line.
if [[ -r "$HOME/.config/gstage/client.env" ]]; then
    # shellcheck source=/dev/null
    source "$HOME/.config/gstage/client.env"   # sets GSTAGE_CLIENT_ID and GSTAGE_CLIENT_SECRET
    export GSTAGE_CLIENT_ID GSTAGE_CLIENT_SECRET
fi

gstage transfer --batch "$(dirname "$0")/nightly-pairs.txt" \
    --sync-level checksum --preserve-mtime \
    --key "nightly-$day" --wait --timeout 6h --timeout-exit-code 75
