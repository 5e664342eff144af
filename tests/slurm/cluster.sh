#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, for tests/test_slurm.py and CI.
#
#   tests/slurm/cluster.sh up      install the Debian packages (when missing), write the
#                                  configuration, start munged, slurmctld and slurmd, and wait
#                                  until the node takes jobs
#   tests/slurm/cluster.sh down    stop the three daemons started by `up` (by their pid files)
#                                  and remove the cluster's state; the packages stay installed
#   tests/slurm/cluster.sh status  print sinfo
#
# The node serves two partitions: `cpu` (the default) and `gpu`. It advertises one GPU GRES of
# type `fake` (File=/dev/null), so jobs that ask for a GPU are scheduled on the gpu partition
# even though the machine has none; the test checks routing, not CUDA.
#
# Needs root and apt-get (Debian 12: Slurm 22.05). Exit status 3 means "this machine cannot run
# the cluster" (not root, no apt-get, packages not installable): the test skips on it.
# The traps met on this kind of machine are handled here:
#   - munged wants its socket directory at mode 755 and its key directory at 700;
#   - the configuration must be at /etc/slurm/slurm.conf: the executor plugin's in-job step
#     drops SLURM_CONF, so a configuration elsewhere is not seen inside jobs;
#   - DefMemPerCPU must be set, or a job without --mem takes the whole node's memory;
#   - there is no accounting database, so jobs must stay visible to squeue/scontrol after they
#     end (MinJobAge) for the plugin's status command and for the test.
set -euo pipefail

CONF_DIR=/etc/slurm
STATE_DIR=/var/spool/slurmctld
SPOOL_DIR=/var/spool/slurmd
LOG_DIR=/var/log/slurm
RUN_DIR=/run/slurm
MUNGE_RUN=/run/munge
UNAVAILABLE=3
MARK="# written by nettime tests/slurm/cluster.sh"

log() { echo "cluster: $*" >&2; }
unavailable() {
    log "cannot run SLURM here: $*"
    exit "$UNAVAILABLE"
}

install_packages() {
    local missing=()
    for cmd in slurmctld slurmd sinfo munged; do
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 || unavailable "no apt-get to install ${missing[*]}"
    log "installing slurmctld slurmd slurm-client munge from apt"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || unavailable "apt-get update failed"
    apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge \
        >/dev/null || unavailable "apt-get install slurmctld slurmd slurm-client munge failed"
}

start_munge() {
    if [ -S "$MUNGE_RUN/munge.socket.2" ] && munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        return 0
    fi
    install -d -m 700 -o munge -g munge /etc/munge /var/lib/munge /var/log/munge
    install -d -m 755 -o munge -g munge "$MUNGE_RUN"
    if [ ! -s /etc/munge/munge.key ]; then
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
    runuser -u munge -- munged
    for _ in $(seq 50); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    log "munged did not start"
    return 1
}

write_config() {
    local host cpus mem
    host=$(hostname -s)
    cpus=$(nproc)
    # Leave memory for the daemons and the submitting snakemake.
    mem=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.8}' /proc/meminfo)
    install -d -m 755 "$CONF_DIR" "$LOG_DIR" "$RUN_DIR"
    install -d -m 755 "$STATE_DIR" "$SPOOL_DIR"
    if [ -f "$CONF_DIR/slurm.conf" ] && ! grep -qF "$MARK" "$CONF_DIR/slurm.conf"; then
        unavailable "$CONF_DIR/slurm.conf exists and was not written by this script; not touching it"
    fi
    cat >"$CONF_DIR/slurm.conf" <<EOF
$MARK
ClusterName=nettime-test
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$STATE_DIR
SlurmdSpoolDir=$SPOOL_DIR
SlurmctldPidFile=$RUN_DIR/slurmctld.pid
SlurmdPidFile=$RUN_DIR/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
ReturnToService=2
# No accounting database: ended jobs stay in squeue/scontrol for MinJobAge seconds (the
# plugin polls squeue; the test reads the job table after the whole run).
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=3600
DefMemPerCPU=1000
GresTypes=gpu
NodeName=$host CPUs=$cpus RealMemory=$mem Gres=gpu:fake:1 State=UNKNOWN
PartitionName=cpu Nodes=$host Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$host MaxTime=INFINITE State=UP
EOF
    cat >"$CONF_DIR/gres.conf" <<EOF
$MARK
NodeName=$host Name=gpu Type=fake File=/dev/null
EOF
}

wait_idle() {
    local state=""
    for _ in $(seq 60); do
        for daemon in slurmctld slurmd; do
            # The pid file appears a moment after the daemon forks.
            if [ -f "$RUN_DIR/$daemon.pid" ] && ! kill -0 "$(cat "$RUN_DIR/$daemon.pid")" 2>/dev/null; then
                log "$daemon died:"
                tail -n 5 "$LOG_DIR/$daemon.log" >&2
                return 1
            fi
        done
        state=$(timeout 5 sinfo -h -N -o %t 2>/dev/null | head -n 1 || true)
        case "$state" in
        idle | mix | alloc) return 0 ;;
        esac
        sleep 0.5
    done
    log "the node did not come up (state '${state:-none}'); see $LOG_DIR/*.log"
    return 1
}

stop_pidfile() {
    local file=$1 pid
    [ -f "$file" ] || return 0
    pid=$(cat "$file")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        # slurmd ignores TERM while it retries registering with a dead controller.
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$file"
}

up() {
    [ "$(id -u)" = 0 ] || unavailable "not root (the daemons and apt-get need root)"
    [ "$(uname -s)" = Linux ] || unavailable "not Linux"
    local t0=$SECONDS
    install_packages
    local t1=$SECONDS
    # A cluster left by an earlier `up` restarts with the configuration written now.
    stop_pidfile "$RUN_DIR/slurmd.pid"
    stop_pidfile "$RUN_DIR/slurmctld.pid"
    write_config
    start_munge
    slurmctld -c -i
    slurmd
    wait_idle
    log "up in $((SECONDS - t0)) s (packages $((t1 - t0)) s, start $((SECONDS - t1)) s)"
    sinfo
}

down() {
    # Ended-job records go with slurmctld; cancel leftovers first so slurmd exits cleanly.
    if command -v scancel >/dev/null 2>&1 && [ -f "$RUN_DIR/slurmctld.pid" ]; then
        scancel --quiet --user=root 2>/dev/null || true
    fi
    stop_pidfile "$RUN_DIR/slurmd.pid"
    stop_pidfile "$RUN_DIR/slurmctld.pid"
    stop_pidfile "$MUNGE_RUN/munged.pid"
    rm -rf "${STATE_DIR:?}"/* "${SPOOL_DIR:?}"/*
    log "down"
}

case "${1:-}" in
up) up ;;
down) down ;;
status) sinfo ;;
*)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
