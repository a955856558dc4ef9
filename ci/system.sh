# Sourced by main-job.sh and bench.sh: a private system running the embedded default
# configuration, with all its files under one work directory.
#
#   system_env <work dir>   export where the system keeps data and sockets
#   start_system            start daos_server ($bin/daos_server) and wait until it serves
#   start_configured ARGS   the same in an existing work dir, with daos_server arguments
#   stop_system             stop it (also run on exit)

system_env() {
    work="$1"
    export DAOS_RS_HOME="$work/home"
    export DAOS_RS_RUNTIME_DIR="$work/run"
    export DAOS_AGENT_DRPC_DIR="$work/run/agent"
}

stop_system() {
    if [ -n "${server:-}" ] && kill -0 "$server" 2>/dev/null; then
        kill -TERM "$server"
        wait "$server" || true
    fi
}

start_system() {
    rm -rf "$work"
    mkdir -p "$work"
    start_configured
}

# Starts daos_server with extra arguments ("$@", e.g. --config FILE --agent) in an existing
# $work, and waits until it serves.
start_configured() {
    "$bin/daos_server" start "$@" > "$work/server.out" 2>&1 &
    server=$!
    trap stop_system EXIT
    for _ in $(seq 1 600); do
        if grep -q "ready:" "$work/server.out" 2>/dev/null && [ -S "$DAOS_AGENT_DRPC_DIR/daos_agent.sock" ]; then
            return 0
        fi
        if ! kill -0 "$server" 2>/dev/null; then
            cat "$work/server.out" >&2
            echo "daos_server exited before it was ready" >&2
            exit 1
        fi
        sleep 0.1
    done
    cat "$work/server.out" >&2
    echo "daos_server was not ready after 60 s" >&2
    exit 1
}
