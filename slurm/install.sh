#!/usr/bin/env bash
# Installs gstage on a Slurm cluster's controller (or any host): the binary, its manual pages and
# shell completions, the Slurm integration (burst buffer lua, or controller hook wrappers) with
# their settings block filled in, a site config skeleton, and the sudo rule a non-root SlurmUser
# needs (checked with `visudo -c` before it is put in place). Existing config files are never
# overwritten. Run it again after an upgrade: it refreshes the binary and the integration.
#
# Usage: slurm/install.sh [--binary FILE] [--mode bb|hooks|none] [--prefix DIR]
#                         [--slurm-conf-dir DIR] [--config-dir DIR] [--slurm-user USER]
#                         [--sudoers-dir DIR] [--destdir DIR] [--dry-run]
#
#   --binary FILE         the gstage to install (default: target/dist/gstage, then
#                         target/release/gstage; build it with `cargo build --profile dist`)
#   --mode bb             burst buffer integration (default): burst_buffer.lua next to slurm.conf
#   --mode hooks          PrologSlurmctld/EpilogSlurmctld wrappers in PREFIX/lib/gstage/hooks
#   --mode none           binary only (wrapper mode: users run `gstage sbatch`)
#   --prefix DIR          where the binary goes, as PREFIX/bin/gstage (default /usr)
#   --slurm-conf-dir DIR  the folder holding slurm.conf (default: from `scontrol show config`,
#                         else /etc/slurm)
#   --config-dir DIR      the site config folder (default /etc/gstage)
#   --slurm-user USER     the account slurmctld runs as (default: from `scontrol show config`,
#                         else root); a non-root one gets the sudo rule
#   --sudoers-dir DIR     where the sudo rule goes (default /etc/sudoers.d)
#   --destdir DIR         stage everything under DIR (packaging, tests): files go to DIR/PATH
#                         while the paths written into them stay PATH
#   --dry-run             print what would be done, change nothing
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

say() { printf 'install: %s\n' "$*"; }
die() {
    printf 'install: error: %s\n' "$*" >&2
    exit 1
}

binary=
mode=bb
prefix=/usr
slurm_conf_dir=
config_dir=/etc/gstage
slurm_user=
sudoers_dir=/etc/sudoers.d
destdir=
dry_run=
usage="slurm/install.sh [--binary FILE] [--mode bb|hooks|none] [--prefix DIR] [--slurm-conf-dir DIR] [--config-dir DIR] [--slurm-user USER] [--sudoers-dir DIR] [--destdir DIR] [--dry-run]"
while [ $# -gt 0 ]; do
    case $1 in
    --binary | --mode | --prefix | --slurm-conf-dir | --config-dir | --slurm-user | --sudoers-dir | --destdir)
        [ $# -ge 2 ] || die "$1 needs a value (usage: $usage)"
        case $1 in
        --binary) binary=$2 ;;
        --mode) mode=$2 ;;
        --prefix) prefix=$2 ;;
        --slurm-conf-dir) slurm_conf_dir=$2 ;;
        --config-dir) config_dir=$2 ;;
        --slurm-user) slurm_user=$2 ;;
        --sudoers-dir) sudoers_dir=$2 ;;
        --destdir) destdir=$2 ;;
        esac
        shift 2
        ;;
    --dry-run)
        dry_run=1
        shift
        ;;
    -h | --help)
        sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown option \`$1\` (usage: $usage)" ;;
    esac
done

case $mode in bb | hooks | none) ;; *) die "unknown mode \`$mode\`: use bb, hooks or none" ;; esac
for d in "$prefix" "$config_dir" "$sudoers_dir"; do
    case $d in /*) ;; *) die "\`$d\` is not an absolute path" ;; esac
done
if [ -n "$destdir" ]; then
    mkdir -p "$destdir"
    destdir=$(cd "$destdir" && pwd)
fi

if [ -z "$binary" ]; then
    for candidate in "$repo/target/dist/gstage" "$repo/target/release/gstage"; do
        if [ -x "$candidate" ]; then
            binary=$candidate
            break
        fi
    done
    [ -n "$binary" ] || die "no built gstage found; build it with \`cargo build --profile dist\` or name it with --binary"
fi
[ -x "$binary" ] || die "\`$binary\` is not an executable file"
"$binary" --version >/dev/null 2>&1 || die "\`$binary --version\` failed: is it a gstage built for this host?"

# What slurmctld says about itself, when it answers.
show_config=$(scontrol show config 2>/dev/null || true)
config_value() { awk -F' = ' -v k="$1" '$1 ~ "^"k" *$" { print $2; exit }' <<<"$show_config"; }
if [ -z "$slurm_conf_dir" ]; then
    conf=$(config_value SLURM_CONF)
    slurm_conf_dir=$(dirname "${conf:-/etc/slurm/slurm.conf}")
fi
if [ -z "$slurm_user" ]; then
    slurm_user=$(config_value SlurmUser)
    slurm_user=${slurm_user%%(*}
    slurm_user=${slurm_user:-root}
fi
[[ $slurm_user =~ ^[a-z_][a-z0-9_-]*$ ]] || die "bad SlurmUser \`$slurm_user\`"

gstage=$prefix/bin/gstage
for p in "$gstage" "$slurm_conf_dir" "$config_dir"; do
    [[ $p =~ ^[A-Za-z0-9_./+-]+$ ]] || die "\`$p\` has characters the lua, the hooks and sudoers cannot hold; use a plain path"
done

run() {
    if [ -n "$dry_run" ]; then
        printf 'would run:'
        printf ' %q' "$@"
        printf '\n'
    else
        "$@"
    fi
}

# Copies SRC to DST (under destdir) with its settings block (between the `>>> settings` and
# `<<< settings` lines) replaced by the lines in BLOCK, with MODE.
render() {
    local src=$1 dst=$destdir$2 block=$3 mode=$4
    if ! grep -q '>>> settings' "$src" || ! grep -q '<<< settings' "$src"; then
        die "\`$src\` lacks its settings block (>>> settings ... <<< settings)"
    fi
    if [ -n "$dry_run" ]; then
        say "would write $dst from $src with settings: $(tr '\n' ' ' <"$block")"
        return
    fi
    mkdir -p "$(dirname "$dst")"
    awk -v block="$block" '
        /<<< settings/ { skip = 0 }
        !skip { print }
        />>> settings/ { while ((getline line < block) > 0) print line; skip = 1 }
    ' "$src" >"$dst.new"
    chmod "$mode" "$dst.new"
    mv -f "$dst.new" "$dst"
    say "wrote $dst"
}

# Installs SRC as DST (under destdir) with MODE unless DST exists.
install_new() {
    local src=$1 dst=$destdir$2 mode=$3
    if [ -e "$dst" ]; then
        say "kept the existing $dst"
        return
    fi
    run install -D -m "$mode" "$src" "$dst"
    [ -n "$dry_run" ] || say "wrote $dst"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- binary, manual pages, completions ------------------------------------------------------
run install -D -m 755 "$binary" "$destdir$gstage"
[ -n "$dry_run" ] || say "installed $destdir$gstage ($("$binary" --version))"
man_dir=$destdir$prefix/share/man/man1
run mkdir -p "$man_dir" "$destdir$prefix/share/bash-completion/completions" \
    "$destdir$prefix/share/zsh/site-functions" "$destdir$prefix/share/fish/vendor_completions.d"
run "$binary" man --dir "$man_dir"
if [ -z "$dry_run" ]; then
    "$binary" completions bash >"$destdir$prefix/share/bash-completion/completions/gstage"
    "$binary" completions zsh >"$destdir$prefix/share/zsh/site-functions/_gstage"
    "$binary" completions fish >"$destdir$prefix/share/fish/vendor_completions.d/gstage.fish"
    say "wrote manual pages and bash, zsh and fish completions under $destdir$prefix/share"
fi

# --- site config skeleton -------------------------------------------------------------------
install_new "$repo/examples/config/site.toml" "$config_dir/config.toml" 644

# --- Slurm integration ----------------------------------------------------------------------
lua_quote() {
    local s=${1//\\/\\\\}
    printf '"%s"' "${s//\"/\\\"}"
}
{
    echo "local GSTAGE = $(lua_quote "$gstage")"
    printf 'local ENV = {'
    sep=' '
    if [ "$slurm_conf_dir" != /etc/slurm ]; then
        printf '%sSLURM_CONF = %s' "$sep" "$(lua_quote "$slurm_conf_dir/slurm.conf")"
        sep=', '
    fi
    if [ "$config_dir" != /etc/gstage ]; then
        printf '%sGSTAGE_CONFIG = %s' "$sep" "$(lua_quote "$config_dir/config.toml")"
    fi
    echo ' }'
} >"$work/lua-settings"
{
    echo "GSTAGE=$gstage"
    if [ "$slurm_conf_dir" != /etc/slurm ]; then
        echo "SLURM_CONF=$slurm_conf_dir/slurm.conf; export SLURM_CONF"
    fi
    if [ "$config_dir" != /etc/gstage ]; then
        echo "GSTAGE_CONFIG=$config_dir/config.toml; export GSTAGE_CONFIG"
    fi
} >"$work/sh-settings"

next=()
case $mode in
bb)
    render "$here/burst_buffer.lua" "$slurm_conf_dir/burst_buffer.lua" "$work/lua-settings" 644
    bb_conf=$destdir$slurm_conf_dir/burst_buffer.conf
    if [ -e "$bb_conf" ] && ! grep -qi '^[[:space:]]*Directive[[:space:]]*=[[:space:]]*GLOBUS' "$bb_conf"; then
        say "warning: $bb_conf exists without Directive=GLOBUS; set it (see slurm/burst_buffer.conf.example)"
    fi
    install_new "$here/burst_buffer.conf.example" "$slurm_conf_dir/burst_buffer.conf" 644
    next+=("in slurm.conf: BurstBufferType=burst_buffer/lua, then restart slurmctld")
    ;;
hooks)
    for hook in prolog epilog; do
        render "$here/hooks/$hook" "$prefix/lib/gstage/hooks/$hook" "$work/sh-settings" 755
    done
    next+=("in slurm.conf: PrologSlurmctld=$prefix/lib/gstage/hooks/prolog and EpilogSlurmctld=$prefix/lib/gstage/hooks/epilog, then \`scontrol reconfigure\`")
    ;;
none) ;;
esac

# --- sudo rule for a non-root SlurmUser -----------------------------------------------------
if [ "$mode" != none ] && [ "$slurm_user" != root ]; then
    command -v visudo >/dev/null || die "SlurmUser is \`$slurm_user\`, which needs a sudo rule, but visudo is missing; install sudo"
    rule=$work/sudoers
    printf '# Written by gstage'"'"'s slurm/install.sh: SlurmUser runs gstage as the job'"'"'s owner.\n%s ALL=(ALL) NOPASSWD: %s hook *, %s bb *\n' \
        "$slurm_user" "$gstage" "$gstage" >"$rule"
    visudo -cqf "$rule" >/dev/null || die "the sudo rule does not parse: $(cat "$rule")"
    if [ -n "$dry_run" ]; then
        say "would write $destdir$sudoers_dir/gstage: $(tail -n 1 "$rule")"
    else
        install -D -m 440 "$rule" "$destdir$sudoers_dir/gstage"
        say "wrote $destdir$sudoers_dir/gstage (checked with visudo -c)"
    fi
fi

next+=("replace the PLACEHOLDER UUIDs in $config_dir/config.toml (see docs/admin.md)")
next+=("check the installation: $gstage doctor")
say "done. Next:"
for n in "${next[@]}"; do say "  - $n"; done
