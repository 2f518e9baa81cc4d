#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the Slurm launcher tests and for trying the cluster
# commands of the README without a cluster.
#
#   scripts/slurm.sh               install Debian's slurm-wlm, slurmdbd, munge and mariadb-server if
#                                  missing, then start whatever is not running
#   scripts/slurm.sh --start-only  start it, but fail (exit 3) instead of installing
#   scripts/slurm.sh stop          stop the daemons (state and accounting database are kept)
#
# slurmctld and slurmd on this host (CPUs = the online cores, not `nproc`, which OMP_NUM_THREADS lowers; one partition `debug`, no GPUs, no cgroups: the
# sandbox has none), munge authentication, and accounting through slurmdbd on a private MariaDB
# (data in ${DSLA_SLURM_DIR:-/tmp/dsla-slurm}/mariadb, listening on 127.0.0.1:${DSLA_SLURM_DB_PORT:-33069}
# only, not the system's server), so `sacct` lists finished jobs and their steps. The Slurm commands
# read /etc/slurm/slurm.conf, so it is written there; a slurm.conf this script did not write is never
# overwritten (exit 1). Idempotent: running daemons are left alone, a changed configuration
# (e.g. another core count) restarts the Slurm daemons. On success the last line printed is the
# partition, `debug`.
set -euo pipefail

DIR=${DSLA_SLURM_DIR:-/tmp/dsla-slurm}
DB_PORT=${DSLA_SLURM_DB_PORT:-33069}
PARTITION=debug
CLUSTER=dsla
HOST=$(hostname -s)
MODE=${1:-start}
CONF=/etc/slurm/slurm.conf
DBD_CONF=/etc/slurm/slurmdbd.conf
MARK="# Written by scripts/slurm.sh of the DSLA pipeline (a one-node test cluster)."
SOCK=$DIR/mariadb/mariadb.sock  # socket, pid file and log live in the datadir (owned by mysql)

say() { echo "slurm.sh: $*" >&2; }
die() { say "$*"; exit 1; }

# Wait up to $1 seconds for the command after it to succeed.
wait_for() {
    local seconds=$1; shift
    for _ in $(seq $((seconds * 4))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
    return 1
}

stop_pid() {  # stop the daemon whose pid file is $1, waiting for it to exit
    [[ -f "$1" ]] || return 0
    local pid; pid=$(cat "$1")
    if [[ -n "$pid" ]] && kill "$pid" 2>/dev/null; then
        wait_for 30 bash -c "! kill -0 $pid" || say "process $pid ($1) did not stop"
    fi
    rm -f "$1"
}

if [[ "$MODE" == "stop" ]]; then
    stop_pid "$DIR/run/slurmd.pid"
    stop_pid "$DIR/run/slurmctld.pid"
    stop_pid "$DIR/run/slurmdbd.pid"
    stop_pid "$DIR/mariadb/mariadb.pid"
    stop_pid /run/munge/munged.pid
    exit 0
fi
[[ "$MODE" == "start" || "$MODE" == "--start-only" ]] || die "unknown mode '$MODE' (start, --start-only, stop)"
[[ $(id -u) -eq 0 ]] || die "needs root (it installs packages, writes /etc/slurm and runs the daemons as root)"

PACKAGES=(slurm-wlm slurmdbd munge mariadb-server)
installed() { command -v slurmctld && command -v slurmd && command -v slurmdbd && command -v munged && command -v mariadbd; }
if ! installed >/dev/null; then
    if [[ "$MODE" != "start" ]]; then
        say "Slurm is not installed (run scripts/slurm.sh without --start-only)"
        exit 3
    fi
    say "installing Debian's ${PACKAGES[*]}"
    apt-get update -qq
    # policy-rc.d may forbid starting services (containers): the daemons are started below anyway.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${PACKAGES[@]}" >"$DIR.apt.log" 2>&1 || {
        tail -n 20 "$DIR.apt.log" >&2; die "apt-get install failed, see $DIR.apt.log"; }
fi

mkdir -p "$DIR"/{log,run,state/ctld,state/d}
chmod 755 "$DIR"

# --- configuration -------------------------------------------------------------------------------
if [[ -f "$CONF" ]] && ! grep -qF "$MARK" "$CONF"; then
    die "$CONF exists and was not written by this script: refusing to replace a real cluster's configuration"
fi
MEM_MB=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
NEW_CONF="$MARK
ClusterName=$CLUSTER
SlurmctldHost=$HOST
SlurmUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
StateSaveLocation=$DIR/state/ctld
SlurmdSpoolDir=$DIR/state/d
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=5
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobCompType=jobcomp/none
InactiveLimit=0
KillWait=10
MinJobAge=60
NodeName=$HOST CPUs=$(getconf _NPROCESSORS_ONLN) RealMemory=$MEM_MB State=UNKNOWN
PartitionName=$PARTITION Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES"

# The database password of the `slurm` MariaDB user: random, made once, readable by root only.
if [[ ! -s "$DIR/db.pass" ]]; then
    (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$DIR/db.pass")
fi
DB_PASS=$(cat "$DIR/db.pass")
NEW_DBD_CONF="$MARK
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
PidFile=$DIR/run/slurmdbd.pid
LogFile=$DIR/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db"

CHANGED=0
write_if_changed() {  # file, mode, content
    if [[ ! -f "$1" ]] || [[ "$(cat "$1")" != "$3" ]]; then
        mkdir -p "$(dirname "$1")"
        (umask 077; printf '%s\n' "$3" >"$1.tmp")
        chmod "$2" "$1.tmp"
        mv "$1.tmp" "$1"
        CHANGED=1
    fi
}
write_if_changed "$CONF" 644 "$NEW_CONF"
CONF_CHANGED=$CHANGED
CHANGED=0
write_if_changed "$DBD_CONF" 600 "$NEW_DBD_CONF"  # slurmdbd refuses a config others can read
DBD_CHANGED=$CHANGED

# --- munge ---------------------------------------------------------------------------------------
munge_ok() { munge -n | unmunge; }
if ! munge_ok >/dev/null 2>&1; then
    if [[ ! -s /etc/munge/munge.key ]]; then
        (umask 077; dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none)
    fi
    chown munge: /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown munge: /run/munge /var/lib/munge /var/log/munge
    runuser -u munge -- /usr/sbin/munged 2>"$DIR/log/munged.err" || true
    wait_for 10 munge_ok || die "munged did not start, see $DIR/log/munged.err and /var/log/munge/munged.log"
fi

# --- MariaDB for slurmdbd ------------------------------------------------------------------------
db_ok() { mariadb-admin --no-defaults --socket="$SOCK" -u root ping; }
if ! db_ok >/dev/null 2>&1; then
    if [[ ! -d "$DIR/mariadb/mysql" ]]; then
        rm -rf "$DIR/mariadb"; mkdir -p "$DIR/mariadb"; chown mysql: "$DIR/mariadb"
        mariadb-install-db --no-defaults --user=mysql --datadir="$DIR/mariadb" --skip-test-db \
            --auth-root-authentication-method=socket >"$DIR/log/mariadb-install.log" 2>&1 || \
            die "mariadb-install-db failed, see $DIR/log/mariadb-install.log"
        FRESH_DB=1
    fi
    # Small and unsafe on power loss: a throwaway accounting store. No native AIO (sandboxes lack it).
    setsid /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$DIR/mariadb" --socket="$SOCK" \
        --pid-file="$DIR/mariadb/mariadb.pid" --port="$DB_PORT" --bind-address=127.0.0.1 --skip-name-resolve \
        --log-error="$DIR/mariadb/error.log" --innodb-buffer-pool-size=64M --innodb-log-file-size=64M \
        --innodb-lock-wait-timeout=900 --innodb-use-native-aio=0 --innodb-flush-log-at-trx-commit=0 \
        --skip-log-bin </dev/null >/dev/null 2>&1 &
    wait_for 60 db_ok || die "MariaDB did not start, see $DIR/mariadb/error.log"
fi
# The slurm user's password follows db.pass (also after db.pass was removed by hand).
mariadb --no-defaults --socket="$SOCK" -u root -e "
    CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
    ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';" || die "could not create the slurm database user"

# --- slurmdbd, slurmctld, slurmd -----------------------------------------------------------------
dbd_ok() { sacctmgr -n -P list cluster format=cluster; }
ctld_ok() { scontrol ping | grep -q "is UP"; }
node_state() { sinfo -h -n "$HOST" -o %t 2>/dev/null; }
node_ok() { [[ "$(node_state)" =~ ^(idle|mix|alloc|comp)$ ]]; }

if (( DBD_CHANGED )); then stop_pid "$DIR/run/slurmdbd.pid"; fi
if (( CONF_CHANGED )); then stop_pid "$DIR/run/slurmd.pid"; stop_pid "$DIR/run/slurmctld.pid"; fi

if ! dbd_ok >/dev/null 2>&1; then
    stop_pid "$DIR/run/slurmdbd.pid"
    slurmdbd || die "slurmdbd did not start, see $DIR/log/slurmdbd.log"
    wait_for 60 dbd_ok || die "slurmdbd does not answer, see $DIR/log/slurmdbd.log"
fi
if ! dbd_ok | grep -qx "$CLUSTER"; then
    sacctmgr -i add cluster "$CLUSTER" >&2 || die "could not register cluster $CLUSTER with slurmdbd"
fi
if ! ctld_ok >/dev/null 2>&1; then
    stop_pid "$DIR/run/slurmctld.pid"
    slurmctld || die "slurmctld did not start, see $DIR/log/slurmctld.log"
    wait_for 30 ctld_ok || die "slurmctld does not answer, see $DIR/log/slurmctld.log"
fi
if ! pgrep -F "$DIR/run/slurmd.pid" slurmd >/dev/null 2>&1; then
    slurmd || die "slurmd did not start, see $DIR/log/slurmd.log"
fi
if ! wait_for 30 node_ok; then
    # A node marked down by an earlier stop comes back by hand (ReturnToService covers the rest).
    scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true
    wait_for 30 node_ok || die "node $HOST is '$(node_state)', not idle; see $DIR/log/slurmd.log and slurmctld.log"
fi
echo "$PARTITION"
