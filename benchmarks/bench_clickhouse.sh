#!/bin/bash
# bench_clickhouse.sh: the beacon hunt beside ClickHouse in the same run (issue 7; called by
# bench.sh section 6, runnable alone). One window of a flowhunt store is loaded into a
# ClickHouse server this script starts (Debian 12's clickhouse-server 18.16), RITA v5's beacon
# scoring runs there as SQL (clickhouse/beacon.sql) and `flowhunt hunt --hunts beacon` runs over
# the same window; both timed the same way (wall, median of 3 after one warm-up).
#
# usage: benchmarks/bench_clickhouse.sh FLOWHUNT STORE FROM TO INTERNAL_CIDR
#   e.g. benchmarks/bench_clickhouse.sh build/flowhunt /work/scale/big \
#            2026-11-23T00:00:00Z 2026-11-24T00:00:00Z 10.0.0.0/16
# STORE is only read (flowhunt hunt --no-state). Prints KEY=VALUE lines on stdout for bench.sh
# (CH_SKIP=reason when ClickHouse is not installed or did not start), progress on stderr.
#
# The server: its own config in a scratch directory (data, tmp and logs there), 127.0.0.1 on
# two free TCP ports, max_threads 2, no system service; run as the unprivileged user
# `clickhouse` (or nobody) when started as root; stopped and the directory removed on every
# exit path.
set -eu -o pipefail

[ $# -eq 5 ] || { echo "usage: $0 FLOWHUNT STORE FROM TO INTERNAL_CIDR" >&2; exit 2; }
FLOWHUNT=$1 STORE=$2 FROM=$3 TO=$4 INTERNAL=$5
HERE=$(cd "$(dirname "$0")" && pwd)
TMO=1800 # seconds: bound on any one step
CH_THREADS=2

log() { echo "bench-ch: $*" >&2; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

for p in clickhouse-server clickhouse-client; do
    command -v $p >/dev/null || {
        echo "CH_SKIP=$p not installed (apt-get install clickhouse-server clickhouse-client; make bench does)"
        exit 0
    }
done
[ -x "$FLOWHUNT" ] || { echo "bench-ch: $FLOWHUNT missing" >&2; exit 2; }

# the internal network as its first and last IPv4 address (beacon.sql compares mapped addresses)
read -r NET_LO NET_HI < <(python3 -c 'import ipaddress, sys
n = ipaddress.ip_network(sys.argv[1], strict=False)
assert n.version == 4, "IPv4 CIDR expected"
print(n.network_address, n.broadcast_address)' "$INTERNAL")
FROM_MS=$(($(date -u -d "$FROM" +%s) * 1000))
TO_MS=$(($(date -u -d "$TO" +%s) * 1000))

D=$(mktemp -d /tmp/flowhunt-ch.XXXXXX)
SPID=""
stop_server() {
    [ -n "$SPID" ] || return 0
    kill -TERM "$SPID" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SPID" 2>/dev/null || true
    wait "$SPID" 2>/dev/null || true
    SPID=""
}
cleanup() {
    stop_server
    rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -r TCP_PORT HTTP_PORT < <(python3 -c 'import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in ss))')
mkdir -p "$D/data" "$D/tmp" "$D/log" "$D/user_files"
cat >"$D/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>$D/log/server.log</log>
        <errorlog>$D/log/server.err.log</errorlog>
        <size>100M</size>
        <count>1</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>$TCP_PORT</tcp_port>
    <http_port>$HTTP_PORT</http_port>
    <path>$D/data/</path>
    <tmp_path>$D/tmp/</tmp_path>
    <user_files_path>$D/user_files/</user_files_path>
    <users_config>users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mark_cache_size>268435456</mark_cache_size>
    <max_concurrent_queries>4</max_concurrent_queries>
</yandex>
EOF
cat >"$D/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_threads>$CH_THREADS</max_threads>
            <max_memory_usage>12000000000</max_memory_usage>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas><default></default></quotas>
</yandex>
EOF

# root: the server runs as an unprivileged account that owns only the scratch directory
RUN_AS=()
if [ "$(id -u)" = 0 ]; then
    U=nobody
    id -u clickhouse >/dev/null 2>&1 && U=clickhouse
    chown -R "$U:" "$D"
    RUN_AS=(setpriv --reuid="$U" --regid="$(id -g "$U")" --clear-groups)
fi
CH=(clickhouse-client --host 127.0.0.1 --port "$TCP_PORT")
"${RUN_AS[@]}" clickhouse-server --config-file="$D/config.xml" >"$D/log/stdout" 2>&1 &
SPID=$!
for _ in $(seq 600); do
    "${CH[@]}" --query "SELECT 1" >/dev/null 2>&1 && break
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.1
done
if ! "${CH[@]}" --query "SELECT 1" >/dev/null 2>&1; then
    log "clickhouse-server did not answer:"
    tail -5 "$D/log/stdout" "$D/log/server.err.log" >&2 2>/dev/null || true
    echo "CH_SKIP=clickhouse-server did not start (see bench-ch lines on stderr)"
    exit 0
fi
echo "CH_VERSION=$("${CH[@]}" --query "SELECT version()")"
log "server up on 127.0.0.1:$TCP_PORT, scratch $D"
"${CH[@]}" --multiquery <"$HERE/clickhouse/schema.sql"

# ---- load: the window as flowhunt prints it, the query's columns only ----
# (time_start, src_addr, dst_addr, dst_port, proto, bytes of flowhuntd --print csv)
log "load $FROM .. $TO"
t0=$(now)
timeout $TMO "$FLOWHUNT" cat "$STORE" --from "$FROM" --to "$TO" --format csv |
    cut -d, -f1,3,4,6,7,10 |
    timeout $TMO "${CH[@]}" --query "INSERT INTO flows_csv FORMAT CSVWithNames"
t1=$(now)
# merge the inserted parts now, so background merges do not run during the timed queries
timeout $TMO "${CH[@]}" --query "OPTIMIZE TABLE flows FINAL"
t2=$(now)
ROWS=$("${CH[@]}" --query "SELECT count() FROM flows")
echo "CH_ROWS=$ROWS"
echo "CH_LOAD_S=$(calc "%.1f" "$t1 - $t0")"
echo "CH_MERGE_S=$(calc "%.1f" "$t2 - $t1")"
echo "CH_DISK_MB=$("${CH[@]}" --query "SELECT round(sum(bytes_on_disk) / 1e6, 1) FROM system.parts WHERE active AND table = 'flows'")"
echo "CMD_CH_LOAD=flowhunt cat BIG --from $FROM --to $TO --format csv | cut -d, -f1,3,4,6,7,10 | clickhouse-client --query \"INSERT INTO flows_csv FORMAT CSVWithNames\"; clickhouse-client --query \"OPTIMIZE TABLE flows FINAL\" (schema: benchmarks/clickhouse/schema.sql)"

# ---- the timed runs: wall, median of 3 after one warm-up ----
# qtime OUT CMD...: the warm-up's stdout in OUT; prints the median wall seconds. Exit 0 or 1
# (a hunt's findings) is a run; any other fails qtime, and the script at its assignment (set
# -e): a failed run timed as a fast one was a figure nobody measured.
qtime() {
    local out=$1 t0 t1 rc=0
    shift
    timeout $TMO "$@" >"$out" 2>"$out.err" || rc=$?
    if [ "$rc" -gt 1 ]; then
        log "failed (exit $rc): $* ($(tail -1 "$out.err"))"
        return 1
    fi
    for _ in 1 2 3; do
        t0=$(now)
        rc=0
        timeout $TMO "$@" >/dev/null 2>&1 || rc=$?
        [ "$rc" -le 1 ] || { log "failed on a timed run (exit $rc): $*"; exit 1; }
        t1=$(now)
        calc "%.4f\n" "$t1 - $t0"
    done | sort -g | sed -n 2p
}

sed -e "s/__FROM_MS__/$FROM_MS/g; s/__TO_MS__/$TO_MS/g; s/__NET_LO__/$NET_LO/g; s/__NET_HI__/$NET_HI/g" \
    "$HERE/clickhouse/beacon.sql" >"$D/beacon.sql"
log "ClickHouse beacon.sql over $ROWS rows"
CH_QUERY_S=$(qtime "$D/ch.out" "${CH[@]}" --max_threads "$CH_THREADS" --format TSV \
    --query "$(cat "$D/beacon.sql")")
echo "CH_QUERY_S=$CH_QUERY_S"
echo "CH_PAIRS=$(wc -l <"$D/ch.out")"
echo "CMD_CH_QUERY=clickhouse-client --max_threads $CH_THREADS --format TSV --query \"\$(cat beacon.sql)\" (benchmarks/clickhouse/beacon.sql, window $FROM_MS..$TO_MS ms, internal $NET_LO..$NET_HI)"

# the server stopped first: flowhunt runs with the machine to itself, as ClickHouse did
stop_server
log "flowhunt hunt --hunts beacon over the same window"
FH_ARGS=(hunt "$STORE" --from "$FROM" --to "$TO" --hunts beacon --internal "$INTERNAL"
    --format json --no-state)
FH_BEACON_S=$(qtime "$D/fh.out" "$FLOWHUNT" "${FH_ARGS[@]}")
echo "FH_BEACON_S=$FH_BEACON_S"
echo "FH_FINDINGS=$(grep -c '"hunt":"beacon"' "$D/fh.out" || true)"
echo "CMD_FH_BEACON=flowhunt hunt BIG --from $FROM --to $TO --hunts beacon --internal $INTERNAL --format json --no-state >/dev/null"
