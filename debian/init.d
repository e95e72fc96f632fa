#! /bin/sh
### BEGIN INIT INFO
# Provides:          flare
# Required-Start:    $remote_fs $syslog
# Required-Stop:     $remote_fs $syslog
# Should-Start:      $local_fs $network zookeeper
# Should-Stop:       $local_fs $network zookeeper
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: Start flare index server and node server
# Description:       Starts and stops flarei (the flare index server) and
#                    flared (the flare node server) of flare, a distributed
#                    and persistent key-value store speaking the memcached
#                    protocol.
### END INIT INFO

# /etc/init.d/flare: settings live in /etc/default/flare (see flarei(8), flared(8)).
# With index-db = zookeeper://… in flarei.conf, a ZooKeeper server on this host (Debian's
# zookeeperd) is started first; flarei waits up to 10 s for the ensemble and exits otherwise.
# The daemons detach themselves (--daemonize) and write <data-dir>/flarei.pid and
# <data-dir>/flared.pid; this script finds them through those files only.
#
# Exit status: 0 success; 1 failure; 2 bad usage of a variable; 4 not root;
# status: 0 all enabled daemons running, 1 dead with a pid file left, 3 not running;
# reload: 7 when a daemon to signal is not running.

set -u

PATH=/sbin:/bin:/usr/sbin:/usr/bin
NAME=flare
DESC=flare
DAEMON_INDEX=/usr/bin/flarei
DAEMON_NODE=/usr/bin/flared

# Defaults, overridden by /etc/default/flare.
RUN_INDEX=yes
RUN_NODE=yes
CONF_INDEX=/etc/flarei.conf
CONF_NODE=/etc/flared.conf
DATA_INDEX=
DATA_NODE=
CORE_FILE_SIZE_INDEX=
CORE_FILE_SIZE_NODE=
DAEMON_USER=
START_TIMEOUT=10
STOP_TIMEOUT=30

test -x "$DAEMON_INDEX" || exit 0
test -x "$DAEMON_NODE" || exit 0

if [ -f /etc/default/$NAME ]; then
    # shellcheck source=/dev/null
    . /etc/default/$NAME
fi

# Messages about failures are collected and printed after the progress line.
FAILURES=

fail() {
    FAILURES="${FAILURES}$NAME: $*
"
}

flush_failures() {
    if [ -n "$FAILURES" ]; then
        printf '%s' "$FAILURES" >&2
        FAILURES=
    fi
}

is_number() {
    case "$1" in
        ''|*[!0-9]*) return 1 ;;
        *) return 0 ;;
    esac
}

# The data-dir a config file sets (the last one wins), or nothing. `#` starts a comment anywhere.
config_data_dir() {
    sed -n -e 's/#.*//' -e 's/^[[:space:]]*data-dir[[:space:]]*=[[:space:]]*//p' "$1" 2>/dev/null \
        | sed -e 's/[[:space:]]*$//' | tail -n 1
}

# Sets D_* for "index" or "node".
select_daemon() {
    case "$1" in
        index)
            D_NAME=flarei; D_DAEMON=$DAEMON_INDEX; D_RUN=$RUN_INDEX; D_CONF=$CONF_INDEX
            D_DATA=$DATA_INDEX; D_CORE=$CORE_FILE_SIZE_INDEX; D_VAR=INDEX
            ;;
        node)
            D_NAME=flared; D_DAEMON=$DAEMON_NODE; D_RUN=$RUN_NODE; D_CONF=$CONF_NODE
            D_DATA=$DATA_NODE; D_CORE=$CORE_FILE_SIZE_NODE; D_VAR=NODE
            ;;
    esac
    if [ -z "$D_DATA" ]; then
        D_DATA=$(config_data_dir "$D_CONF")
    fi
    D_DATA=${D_DATA%/}
    D_PID=$D_DATA/$D_NAME.pid
}

is_enabled() {
    [ "$D_RUN" = "yes" ]
}

# 0 running, 1 dead but pid file left, 3 not running, 4 unknown (start-stop-daemon --status).
# Matched by process name, not --exec, so a daemon whose binary was replaced by an
# upgrade is still found.
daemon_status() {
    if [ -z "$D_DATA" ]; then
        return 3
    fi
    start-stop-daemon --status --pidfile "$D_PID" --name "$D_NAME"
}

daemon_pid() {
    head -n 1 "$D_PID" 2>/dev/null | tr -cd '0-9'
}

require_root() {
    if [ "$(id -u)" != 0 ]; then
        echo "$NAME: $1 needs root privileges" >&2
        exit 4
    fi
}

check_timeouts() {
    if ! is_number "$START_TIMEOUT" || ! is_number "$STOP_TIMEOUT"; then
        echo "$NAME: START_TIMEOUT and STOP_TIMEOUT in /etc/default/$NAME must be numbers of seconds" >&2
        exit 2
    fi
}

# Checks everything a start needs that the daemon would otherwise only report to syslog.
prepare_start() {
    if [ ! -r "$D_CONF" ]; then
        fail "$D_NAME: cannot read configuration file $D_CONF (CONF_$D_VAR)"
        return 1
    fi
    conf_dir=$(config_data_dir "$D_CONF")
    conf_dir=${conf_dir%/}
    if [ -z "$D_DATA" ]; then
        fail "$D_NAME: no data-dir: set data-dir in $D_CONF and DATA_$D_VAR in /etc/default/$NAME"
        return 1
    fi
    if [ -n "$conf_dir" ] && [ "$conf_dir" != "$D_DATA" ]; then
        fail "$D_NAME: DATA_$D_VAR=$D_DATA in /etc/default/$NAME differs from data-dir = $conf_dir in $D_CONF; they must match, the pid file is <data-dir>/$D_NAME.pid"
        return 1
    fi
    if [ -n "$DAEMON_USER" ] && [ "$DAEMON_USER" != root ]; then
        if ! id -u "$DAEMON_USER" >/dev/null 2>&1; then
            fail "$D_NAME: DAEMON_USER=$DAEMON_USER does not exist"
            return 1
        fi
        if [ ! -d "$D_DATA" ]; then
            install -d -m 0750 -o "$DAEMON_USER" -g "$(id -gn "$DAEMON_USER")" "$D_DATA" || {
                fail "$D_NAME: cannot create data directory $D_DATA"
                return 1
            }
        fi
        if ! runuser -u "$DAEMON_USER" -- test -w "$D_DATA"; then
            fail "$D_NAME: data directory $D_DATA is not writable by user $DAEMON_USER"
            return 1
        fi
    else
        if [ ! -d "$D_DATA" ]; then
            install -d -m 0750 "$D_DATA" || {
                fail "$D_NAME: cannot create data directory $D_DATA"
                return 1
            }
        fi
    fi
    return 0
}

# Prints a word for the progress line; returns 0 when the daemon runs afterwards.
start_daemon() {
    daemon_status
    case $? in
        0)
            printf '%s' "$D_NAME (already running)"
            return 0
            ;;
        1)
            rm -f "$D_PID"
            ;;
    esac
    if ! prepare_start; then
        printf '%s' "$D_NAME (failed)"
        return 1
    fi
    if [ -n "$D_CORE" ] && [ "$D_CORE" != unlimited ] && ! is_number "$D_CORE"; then
        fail "$D_NAME: CORE_FILE_SIZE_$D_VAR=$D_CORE is neither a number of blocks nor 'unlimited'"
        printf '%s' "$D_NAME (failed)"
        return 1
    fi
    if [ -n "$DAEMON_USER" ] && [ "$DAEMON_USER" != root ]; then
        set -- --chuid "$DAEMON_USER"
    else
        set --
    fi
    # The daemon prints option errors and the whole option list before detaching: keep the first line.
    output=$(
        if [ -n "$D_CORE" ]; then
            # shellcheck disable=SC3045 # dash (and bash) have ulimit -S
            ulimit -Sc "$D_CORE" || exit 1
        fi
        exec start-stop-daemon --start --quiet --oknodo --pidfile "$D_PID" --exec "$D_DAEMON" "$@" \
            -- -f "$D_CONF" --daemonize </dev/null 2>&1
    )
    rc=$?
    if [ $rc -ne 0 ]; then
        fail "$D_NAME: refused to start (exit status $rc): $(printf '%s\n' "$output" | head -n 1)"
        printf '%s' "$D_NAME (failed)"
        return 1
    fi
    # Started means the pid file names the live daemon (it is written once the port is bound).
    waited=0
    while ! daemon_status; do
        if [ $waited -ge $((START_TIMEOUT * 5)) ]; then
            fail "$D_NAME: no live process in $D_PID after ${START_TIMEOUT}s; see syslog (ident $D_NAME) for the reason"
            printf '%s' "$D_NAME (failed)"
            return 1
        fi
        sleep 0.2
        waited=$((waited + 1))
    done
    printf '%s' "$D_NAME"
    return 0
}

# SIGTERM, then waits up to STOP_TIMEOUT seconds for the process to exit.
stop_daemon() {
    daemon_status
    case $? in
        0) ;;
        1)
            rm -f "$D_PID"
            printf '%s' "$D_NAME (not running; removed stale pid file)"
            return 0
            ;;
        3)
            printf '%s' "$D_NAME (not running)"
            return 0
            ;;
        *)
            fail "$D_NAME: cannot tell whether it runs: $D_PID is not readable"
            printf '%s' "$D_NAME (failed)"
            return 1
            ;;
    esac
    pid=$(daemon_pid)
    start-stop-daemon --stop --quiet --oknodo --retry "TERM/$STOP_TIMEOUT" --pidfile "$D_PID" --name "$D_NAME"
    rc=$?
    if [ $rc -ne 0 ]; then
        fail "$D_NAME: process $pid still running ${STOP_TIMEOUT}s after SIGTERM (STOP_TIMEOUT)"
        printf '%s' "$D_NAME (failed)"
        return 1
    fi
    # A daemon removes its pid file on a clean shutdown; one that died leaves it behind.
    rm -f "$D_PID"
    printf '%s' "$D_NAME"
    return 0
}

# Stop (waiting for the exit), one second, start.
restart_daemon() {
    if stop_daemon >/dev/null; then
        sleep 1
        if start_daemon >/dev/null; then
            printf '%s' "$D_NAME"
            return 0
        fi
    fi
    printf '%s' "$D_NAME (failed)"
    return 1
}

reload_daemon() {
    echo "Reloading $D_NAME configuration files."
    if ! daemon_status; then
        fail "$D_NAME: not running, nothing to reload"
        return 7
    fi
    start-stop-daemon --stop --quiet --signal HUP --pidfile "$D_PID" --name "$D_NAME" || {
        fail "$D_NAME: cannot send SIGHUP to process $(daemon_pid)"
        return 1
    }
    return 0
}

status_daemon() {
    daemon_status
    rc=$?
    case $rc in
        0) echo "$D_NAME is running (pid $(daemon_pid))." ;;
        1) echo "$D_NAME is not running (stale pid file $D_PID)." ;;
        3) echo "$D_NAME is not running." ;;
        *) echo "$D_NAME: status unknown (cannot read $D_PID)." ; rc=4 ;;
    esac
    return $rc
}

# start / stop / restart of one daemon with the progress line of the original script.
one() {
    action=$1
    select_daemon "$2"
    case $action in
        start) verb=Starting; skip=starting ;;
        stop) verb=Stopping; skip=stopping ;;
        restart) verb=Restarting; skip=restarting ;;
    esac
    printf '%s' "$verb $D_NAME: "
    if ! is_enabled; then
        echo "disabled (skip $skip)."
        return 0
    fi
    result=0
    case $action in
        start) start_daemon || result=1 ;;
        stop) stop_daemon || result=1 ;;
        restart) restart_daemon || result=1 ;;
    esac
    echo "."
    flush_failures
    return $result
}

# start / stop / restart of every enabled daemon: index first, one second, then the node.
both() {
    action=$1
    case $action in
        start) verb=Starting ;;
        stop) verb=Stopping ;;
        restart) verb=Restarting ;;
    esac
    printf '%s' "$verb $DESC:"
    result=0
    first=yes
    for which in index node; do
        select_daemon "$which"
        is_enabled || continue
        if [ $first = no ]; then
            sleep 1
        fi
        first=no
        printf ' '
        case $action in
            start) start_daemon || result=1 ;;
            stop) stop_daemon || result=1 ;;
            restart) restart_daemon || result=1 ;;
        esac
    done
    if [ $first = yes ]; then
        printf ' %s' "nothing enabled (RUN_INDEX=$RUN_INDEX, RUN_NODE=$RUN_NODE)"
    fi
    echo "."
    flush_failures
    return $result
}

reload_some() {
    result=0
    for which in "$@"; do
        select_daemon "$which"
        is_enabled || continue
        reload_daemon
        rc=$?
        if [ $rc -ne 0 ] && [ $result -eq 0 ]; then
            result=$rc
        fi
    done
    flush_failures
    return $result
}

# How bad a status is: running < not running < dead with pid file < unknown.
status_rank() {
    case $1 in
        0) echo 0 ;;
        3) echo 1 ;;
        1) echo 2 ;;
        *) echo 3 ;;
    esac
}

# The worst status of the enabled daemons decides; nothing enabled counts as not running.
status_all() {
    result=
    for which in index node; do
        select_daemon "$which"
        if ! is_enabled; then
            echo "$D_NAME is disabled (RUN_$D_VAR=$D_RUN)."
            continue
        fi
        status_daemon
        rc=$?
        if [ -z "$result" ] || [ "$(status_rank $rc)" -gt "$(status_rank "$result")" ]; then
            result=$rc
        fi
    done
    return "${result:-3}"
}

check_timeouts

case "${1:-}" in
    start)
        require_root "$1"; both start ;;
    start-index)
        require_root "$1"; one start index ;;
    start-node)
        require_root "$1"; one start node ;;
    stop)
        require_root "$1"; both stop ;;
    stop-index)
        require_root "$1"; one stop index ;;
    stop-node)
        require_root "$1"; one stop node ;;
    restart)
        require_root "$1"; both restart ;;
    restart-index)
        require_root "$1"; one restart index ;;
    restart-node)
        require_root "$1"; one restart node ;;
    reload|force-reload)
        require_root "$1"; reload_some index node ;;
    reload-index)
        require_root "$1"; reload_some index ;;
    reload-node)
        require_root "$1"; reload_some node ;;
    status)
        status_all ;;
    *)
        echo "Usage: /etc/init.d/$NAME {start|start-index|start-node|stop|stop-index|stop-node|restart|restart-index|restart-node|reload|reload-index|reload-node|force-reload|status}" >&2
        exit 1
        ;;
esac
exit $?
