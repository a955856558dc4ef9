#!/bin/sh
# The private system the C tests run against (the ctest fixture "daos_system").
#
#   system.sh start <workdir>   start daos_server (with its embedded agent) on free ports, with
#                               every file under <workdir>; create pool "ctest" and POSIX
#                               container "posix"; return once both exist
#   system.sh stop <workdir>    stop that server (TERM, then KILL after 60 s) and remove <workdir>
#
# The binaries come from $DAOS_RS_BIN_DIR (set by CMakeLists.txt). Clients find the system
# through DAOS_AGENT_DRPC_DIR=<workdir>/run/agent.
set -eu

action="${1:?usage: system.sh start|stop <workdir>}"
work="${2:?usage: system.sh start|stop <workdir>}"
bin="${DAOS_RS_BIN_DIR:?DAOS_RS_BIN_DIR must name the directory of daos_server, dmg and daos}"
cfg="$work/daos_server.yml"
targets=2

# Prints the first of $1 consecutive free TCP ports on 127.0.0.1.
free_ports() {
    python3 - "$1" <<'EOF'
import random, socket, sys
count = int(sys.argv[1])
def free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()
rng = random.Random()
while True:
    base = rng.randrange(20000, 50000 - count)
    if all(free(p) for p in range(base, base + count)):
        print(base)
        break
EOF
}

write_config() {
    port="$1"
    fabric="$2"
    cat > "$cfg" <<EOF
name: daos_server
port: $port
provider: ofi+tcp
socket_dir: $work/run/server
control_log_file: $work/server.log
transport_config:
  allow_insecure: true
engines:
- targets: $targets
  fabric_iface: lo
  fabric_iface_port: $fabric
  log_file: $work/engine.log
  log_mask: INFO
  storage:
  - class: ram
    scm_mount: $work/scm
    scm_size: 1
  - class: file
    bdev_list: [$work/bdev]
    bdev_size: 4
EOF
}

# PIDs of engines started for this workdir's config (found by the config path on their
# command line, so only processes of this system are touched).
engine_pids() {
    for d in /proc/[0-9]*; do
        if tr '\0' ' ' < "$d/cmdline" 2>/dev/null | grep -q "daos_engine.*$work/"; then
            echo "${d#/proc/}"
        fi
    done
}

show_logs() {
    for f in server.out engine.log; do
        if [ -f "$work/$f" ]; then
            echo "---- $f (last 40 lines) ----" >&2
            tail -n 40 "$work/$f" >&2
        fi
    done
}

stop_server() {
    if [ -f "$work/server.pid" ]; then
        pid=$(cat "$work/server.pid")
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            i=0
            while kill -0 "$pid" 2>/dev/null && [ $i -lt 600 ]; do
                sleep 0.1
                i=$((i + 1))
            done
            if kill -0 "$pid" 2>/dev/null; then
                echo "daos_server $pid did not stop in 60 s; killing it" >&2
                kill -KILL "$pid" 2>/dev/null || true
            fi
        fi
        rm -f "$work/server.pid"
    fi
    for pid in $(engine_pids); do
        kill -KILL "$pid" 2>/dev/null || true
    done
}

# Starts the server once; returns non-zero (logs shown) if it does not become ready.
try_start() {
    base=$(free_ports $((targets + 2)))
    write_config "$base" $((base + 1))
    # setsid and no inherited descriptors: the server outlives this script, and ctest does not
    # wait for its output pipes.
    DAOS_RS_RUNTIME_DIR="$work/run" DAOS_RS_HOME="$work/home" \
        setsid "$bin/daos_server" start --agent -o "$cfg" \
        < /dev/null > "$work/server.out" 2>&1 &
    echo $! > "$work/server.pid"
    i=0
    while [ $i -lt 600 ]; do
        if grep -q "ready:" "$work/server.out" 2>/dev/null \
            && [ -S "$work/run/agent/daos_agent.sock" ]; then
            return 0
        fi
        if ! kill -0 "$(cat "$work/server.pid")" 2>/dev/null; then
            echo "daos_server exited before it was ready" >&2
            show_logs
            rm -f "$work/server.pid"
            return 1
        fi
        sleep 0.1
        i=$((i + 1))
    done
    echo "daos_server was not ready after 60 s" >&2
    show_logs
    stop_server
    return 1
}

case "$action" in
start)
    for b in daos_server dmg daos; do
        [ -x "$bin/$b" ] || { echo "$bin/$b not found: build the workspace binaries first" >&2; exit 1; }
    done
    if [ -f "$work/server.pid" ]; then
        stop_server
    fi
    started=no
    for attempt in 1 2 3; do
        rm -rf "$work"
        mkdir -p "$work"
        if try_start; then
            started=yes
            break
        fi
        echo "start attempt $attempt failed" >&2
    done
    [ "$started" = yes ] || exit 1
    export DAOS_AGENT_DRPC_DIR="$work/run/agent"
    if ! "$bin/dmg" -o "$cfg" pool create --size=2G ctest > "$work/pool.out" 2>&1; then
        cat "$work/pool.out" >&2
        show_logs
        stop_server
        exit 1
    fi
    if ! "$bin/daos" container create ctest posix --type POSIX > "$work/cont.out" 2>&1; then
        cat "$work/cont.out" >&2
        show_logs
        stop_server
        exit 1
    fi
    cat "$work/pool.out" "$work/cont.out"
    echo "system ready: DAOS_AGENT_DRPC_DIR=$DAOS_AGENT_DRPC_DIR, server pid $(cat "$work/server.pid")"
    ;;
stop)
    stop_server
    rm -rf "$work"
    ;;
*)
    echo "usage: system.sh start|stop <workdir>" >&2
    exit 2
    ;;
esac
