#!/usr/bin/env bash
# A single-node SLURM on this machine, to try Scipion's queue (and to test it): munged, slurmctld and slurmd
# started by hand with their configuration, state and logs under one folder; stopped by their pid files.
#   bash scripts/slurm-local.sh up     # prints the SLURM_CONF and SCIPION_HOSTS lines to export
#   bash scripts/slurm-local.sh down
#   bash scripts/slurm-local.sh status
# Needs Debian's slurmctld, slurmd, slurm-client and munge (apt-get install them) and root (the
# daemons run as root here; a real cluster has its own). The folder is $SLURM_LOCAL_DIR (default
# /tmp/tomorois-slurm); $SLURM_LOCAL_PORT (default 6817) moves its two ports. `up` also writes
# $SLURM_LOCAL_DIR/hosts.conf for Scipion: config/hosts-slurm.conf with the queues this cluster has (cpu;
# gpu when nvidia-smi lists GPUs) and a job check that waits for the job to end.
set -euo pipefail
DIR=${SLURM_LOCAL_DIR:-/tmp/tomorois-slurm}
CONF=$DIR/slurm.conf
HOST=$(hostname -s)

stop_pid() {  # stop_pid FILE: terminate the process in FILE, wait for it, remove FILE
  [ -f "$1" ] || return 0
  local pid; pid=$(cat "$1")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

case "${1:-}" in
  up)
    for program in munged slurmctld slurmd sbatch; do
      command -v "$program" >/dev/null || { echo "slurm-local: $program is missing; apt-get install slurmctld slurmd slurm-client munge" >&2; exit 1; }
    done
    "$0" down >/dev/null 2>&1 || true
    mkdir -p "$DIR"/{state,spool,munge}
    chmod 700 "$DIR/munge"
    [ -f "$DIR/munge/munge.key" ] || dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
    chmod 400 "$DIR/munge/munge.key"
    munged --force --key-file="$DIR/munge/munge.key" --socket="$DIR/munge/munge.socket" \
      --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/munge/munged.log" --seed-file="$DIR/munge/munged.seed"
    memory=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
    cat > "$CONF" <<EOF
ClusterName=tomorois-local
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$DIR/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
SlurmctldPort=${SLURM_LOCAL_PORT:-6817}
SlurmdPort=$(( ${SLURM_LOCAL_PORT:-6817} + 1 ))
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/jobs.log
NodeName=$HOST CPUs=$(nproc) RealMemory=$memory State=UNKNOWN
PartitionName=cpu Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
    gpus=$(nvidia-smi -L 2>/dev/null | grep -c "^GPU" || true)
    if [ "${gpus:-0}" -gt 0 ]; then
      sed -i "s/^NodeName=.*/& Gres=gpu:$gpus/" "$CONF"
      printf 'GresTypes=gpu\nPartitionName=gpu Nodes=%s MaxTime=INFINITE State=UP\n' "$HOST" >> "$CONF"
      echo "NodeName=$HOST Name=gpu File=/dev/nvidia[0-$((gpus - 1))]" > "$DIR/gres.conf"
    fi
    export SLURM_CONF=$CONF
    slurmctld -f "$CONF"
    slurmd -f "$CONF"
    for _ in $(seq 100); do
      sinfo -h -o %T 2>/dev/null | grep -qE "^idle" && break; sleep 0.2
    done
    sinfo -h -o %T | grep -qE "^idle" || { echo "slurm-local: the node did not come up; see $DIR/*.log" >&2; exit 1; }
    partitions=$(sinfo -h -o %R | sort -u | tr '\n' ' ')
    python3 - "$(dirname "$0")/../config/hosts-slurm.conf" "$DIR/hosts.conf" $partitions <<'PYTHON'
import configparser, json, sys
template, out, partitions = sys.argv[1], sys.argv[2], sys.argv[3:]
hosts = configparser.RawConfigParser(comment_prefixes=";")
hosts.optionxform = str  # keep the variables' case
hosts.read(template)
queues = json.loads(hosts["localhost"]["QUEUES"])
kept = [f" {json.dumps(name)}: {json.dumps(queues[name])}" for name in queues if name in partitions]
hosts["localhost"]["QUEUES"] = "{\n" + ",\n".join(kept) + "\n}"
# Scipion checks a job after 3 s, then 6 s later, then 9 s...: on this idle one-machine cluster the check waits
# (up to a minute) for the job to leave the queue instead, so a short job costs seconds, not tens of seconds.
# Do not copy this to a shared cluster: it asks squeue twice a second.
hosts["localhost"]["CHECK_COMMAND"] = ("for i in $(seq 120); do squeue -h -j %_(JOB_ID)s 2>/dev/null | grep -q . "
                                       "|| break; sleep 0.5; done; squeue -h -j %_(JOB_ID)s")
with open(out, "w") as handle:
    hosts.write(handle)
PYTHON
    echo "slurm-local: up (partitions: ${partitions% }; $(nproc) CPUs, ${memory} MB); for sbatch and Scipion:"
    echo "export SLURM_CONF=$CONF SCIPION_HOSTS=$DIR/hosts.conf"
    ;;
  down)
    stop_pid "$DIR/slurmd.pid"
    stop_pid "$DIR/slurmctld.pid"
    stop_pid "$DIR/munge/munged.pid"
    echo "slurm-local: down"
    ;;
  status)
    SLURM_CONF=$CONF sinfo 2>/dev/null || echo "slurm-local: not running"
    ;;
  *)
    echo "usage: bash scripts/slurm-local.sh up|down|status" >&2
    exit 2
    ;;
esac
