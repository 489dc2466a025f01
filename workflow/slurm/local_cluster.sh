#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, to test the SLURM profile (workflow/profiles/slurm) for real.
#   bash workflow/slurm/local_cluster.sh start    # install (Debian/Ubuntu, as root), configure, start; idempotent
#   bash workflow/slurm/local_cluster.sh status   # sinfo, or "not running"
#   bash workflow/slurm/local_cluster.sh stop     # stop slurmd, slurmctld and munged
# No accounting (the profile polls squeue), no cgroups (works in containers), no GPUs. An existing slurm.conf
# is only replaced if it carries the certbench marker below, or with FORCE=1.
set -euo pipefail

CONF=${SLURM_CONF:-/etc/slurm/slurm.conf}
MARKER="# certbench local one-node cluster (workflow/slurm/local_cluster.sh)"
NODE=$(hostname -s)
TIMEOUT=${TIMEOUT:-60}   # seconds to wait for the node to become idle

die() { echo "local_cluster: $*" >&2; exit 1; }
# each daemon writes its pid file; "running" and "stop" go by it, never by process name
declare -A PIDFILE=([munged]=/run/munge/munged.pid [slurmctld]=/run/slurm/slurmctld.pid [slurmd]=/run/slurm/slurmd.pid)
pid_of() { [[ -s ${PIDFILE[$1]} ]] && cat "${PIDFILE[$1]}"; }
running() {   # alive and not a zombie (a container's init may never reap it)
    local pid stat; pid=$(pid_of "$1") && stat=$(ps -o stat= -p "$pid") && [[ $stat != Z* ]]
}
stop_daemon() {
    running "$1" || return 0
    kill "$(pid_of "$1")"
    for _ in $(seq 20); do running "$1" || return 0; sleep 0.5; done   # so a following start sees it gone
    die "$1 (pid $(pid_of "$1")) did not stop"
}

install_packages() {
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null && return
    command -v apt-get >/dev/null || die "slurmctld is missing and apt-get is not available; install SLURM by hand"
    echo "local_cluster: installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq slurm-wlm munge >/dev/null
}

write_config() {
    if [[ -e $CONF ]] && ! grep -qF "$MARKER" "$CONF" && [[ ${FORCE:-0} != 1 ]]; then
        die "$CONF exists and was not written by this script; leaving it alone (FORCE=1 to replace it)"
    fi
    # slurmd -C prints "NodeName=... CPUs=... RealMemory=N" for this machine; keep 10% of memory for the OS
    local node_line mem
    node_line=$(slurmd -C | head -1)
    mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node_line")
    node_line=$(sed "s/RealMemory=[0-9]*/RealMemory=$((mem * 9 / 10))/" <<<"$node_line")
    local new
    new=$(cat <<EOF
$MARKER
ClusterName=certbench
SlurmctldHost=$NODE
SlurmUser=slurm
AuthType=auth/munge
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
# no cgroups (linuxproc and affinity work in a container), no accounting, no MPI
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
# cores and memory are consumable, so --mem and --cpus-per-task are enforced at scheduling
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
$node_line State=UNKNOWN
PartitionName=local Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
)
    mkdir -p "$(dirname "$CONF")"
    if [[ ! -e $CONF ]] || [[ $new != "$(cat "$CONF")" ]]; then
        echo "$new" >"$CONF"
        echo "local_cluster: wrote $CONF"
        CONFIG_CHANGED=1
    fi
}

start() {
    [[ $(id -u) == 0 ]] || die "start needs root (it installs packages and starts daemons)"
    install_packages
    CONFIG_CHANGED=0
    write_config
    # daemons running with an older config: restart them so they read the new one
    if [[ $CONFIG_CHANGED == 1 ]] && { running slurmctld || running slurmd; }; then stop_slurm; fi
    # munge: the key authenticates every SLURM message (Debian's package normally creates it)
    if [[ ! -s /etc/munge/munge.key ]]; then
        runuser -u munge -- mungekey -c
    fi
    install -d -o munge -g munge -m 0755 /run/munge
    running munged || runuser -u munge -- munged
    install -d -o slurm -g slurm /run/slurm /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /var/log/slurm
    running slurmctld || slurmctld
    running slurmd || slurmd
    # wait until the node reports idle (or mixed/allocated, if jobs are already running)
    local waited=0 state=""
    while (( waited < TIMEOUT )); do
        state=$(sinfo -h -n "$NODE" -o %T 2>/dev/null || true)
        if [[ $state =~ ^(idle|mixed|allocated)$ ]]; then
            echo "local_cluster: node $NODE is $state"; sinfo; return 0
        fi
        sleep 1; waited=$((waited + 1))
    done
    die "node $NODE not idle after ${TIMEOUT}s (state: '${state:-no answer}'); see /var/log/slurm/slurmctld.log and slurmd.log"
}

stop_slurm() { stop_daemon slurmd; stop_daemon slurmctld; }

case ${1:-} in
    start) start ;;
    stop) stop_slurm; stop_daemon munged; echo "local_cluster: stopped" ;;
    status) if running slurmctld; then sinfo; else echo "local_cluster: not running"; exit 1; fi ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
