#!/bin/bash
# bench.sh: `make bench` / `make bench-quick` (issue 4, section 3). One run, the same packets,
# flowhunt beside the anchors (nfcapd, nfdump, tshark) wherever they are installed:
#
#   0. loopback ceiling: the capture replayed by flowgen --replay (as into the collectors
#      below) into flowgen --sink, a receiver that only calls recvmmsg: datagrams per second
#      the loopback path carries on this machine, the bound any collector's ingest below is
#      measured against;
#   1. ingest: one flowgen v9 capture (4 exporters) replayed at full sendmmsg speed over
#      loopback into flowhuntd, then into nfcapd -y (LZ4), each on a free loopback port, three
#      times alternating; flows stored / sent (first run), CPU per stored flow (median run) and
#      peak RSS (largest) from getrusage of the collector process (/usr/bin/time: the whole
#      life, final flush included);
#   2. bytes per flow on disk: flowhuntd's segments, nfcapd's LZ4 file and that file
#      re-compressed with bz2 (nfdump -J 2), with the bz2 CPU cost;
#   3. query speed (wall, median of 5 after one warm-up, both stores in the page cache):
#      flowhunt cat / top against nfdump filter / -s / -A, as stored flows per second;
#   4. decode speed: build/bench_decode (beside tshark); store speed: build/bench_store (the
#      writer alone, encoding and compressing the capture's flows, beside nfcapd's whole cost);
#   5. hunt: flowhunt hunt over the flowhuntd store, wall time and peak RSS;
#   5b. hunt, hourly: a cold run that keeps its whole hours (DIR/hunt/cache), then the window
#      slid by an hour (the cache and --no-cache), wall and CPU;
#   6. hunt at scale (full mode, SCALE_FLOWS, default 100 M; 0 skips): days of the same
#      organisation read into one store, then beacon, scan and dns-exfil cold over all of it;
#   6b. the beacon hunt beside ClickHouse (issue 7; benchmarks/bench_clickhouse.sh, runnable
#      alone): the scale store's first day loaded into a ClickHouse server started for the
#      purpose, RITA's beacon scoring as SQL (benchmarks/clickhouse/beacon.sql) against
#      flowhunt hunt --hunts beacon over the same day; skipped, with the reason in the table,
#      where clickhouse-server is not installed (make bench installs it) or SCALE_FLOWS is 0.
#
# usage: benchmarks/bench.sh full|quick [BUILD_DIR]
# Writes benchmarks/results/<UTC date>.md (quick: <UTC date>-quick.md) and prints the table.
# Everything runs on 127.0.0.1; daemons are stopped and the scratch directory removed on every
# exit path. Never uses ports 2055 or 4739.
set -eu

MODE=${1:-full}
BUILD=${2:-build}
case $MODE in
full) FLOWS=2000000 HOURS=24 DECODE_ARGS="" SCALE_FLOWS=${SCALE_FLOWS:-100000000} ;;
quick) FLOWS=200000 HOURS=2.4 DECODE_ARGS="--flows 200000 --runs 3" SCALE_FLOWS=${SCALE_FLOWS:-0} ;;
*) echo "usage: $0 full|quick [BUILD_DIR]" >&2; exit 2 ;;
esac
SEED=20261123
START=2026-11-23
EXPORTERS=4
RCVBUF=33554432
TMO=600 # seconds: bound on any one step

FLOWGEN=$BUILD/flowgen FLOWHUNTD=$BUILD/flowhuntd FLOWHUNT=$BUILD/flowhunt
BENCH_DECODE=$BUILD/bench_decode BENCH_STORE=$BUILD/bench_store
for p in "$FLOWGEN" "$FLOWHUNTD" "$FLOWHUNT" "$BENCH_DECODE" "$BENCH_STORE"; do
    [ -x "$p" ] || { echo "bench: $p missing (make binaries $BENCH_DECODE $BENCH_STORE)" >&2; exit 2; }
done
HAVE_NF=1
command -v nfcapd >/dev/null && command -v nfdump >/dev/null || HAVE_NF=0
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is needed" >&2; exit 2; }

tmp=$(mktemp -d /tmp/flowhunt-bench.XXXXXX)
DPIDS=""
cleanup() {
    for p in $DPIDS; do kill -KILL "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "bench: $*" >&2; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

free_port() {
    python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# child_of TPID: the pid of the process /usr/bin/time started.
child_of() {
    local c=""
    for _ in $(seq 200); do
        c=$(pgrep -P "$1" | head -1) && [ -n "$c" ] && { echo "$c"; return 0; }
        sleep 0.05
    done
    return 1
}

# wait_idle PID: returns once the process used no CPU for 0.6 s (its socket drained), at most TMO.
wait_idle() {
    local prev=-1 cur same=0 end=$(($(date +%s) + TMO))
    while [ "$(date +%s)" -lt $end ]; do
        cur=$(ticks "$1")
        if [ "$cur" = "$prev" ]; then
            same=$((same + 1)); [ $same -ge 3 ] && return 0
        else
            same=0
        fi
        prev=$cur
        sleep 0.2
    done
}

# stop TPID DPID: SIGTERM to the daemon, wait for /usr/bin/time to report, SIGKILL after TMO.
stop() {
    kill -TERM "$2" 2>/dev/null || true
    local end=$(($(date +%s) + TMO))
    while kill -0 "$1" 2>/dev/null && [ "$(date +%s)" -lt $end ]; do sleep 0.1; done
    kill -KILL "$2" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# replay ADDR:PORT: full speed; prints the sender's summary line.
replay() {
    timeout $TMO "$FLOWGEN" --replay "$tmp/w.pcap" --to "$1" 2>&1 | tail -1
}

median3() { sort -g | sed -n 2p; }

# qtime CMD...: wall seconds, median of 5 after one warm-up run (of 3, a single slow run of
# the shared machine moved a 0.1 s query's figure by a third). A run that fails fails qtime
# (and, under set -e, the bench at its assignment): a failed query timed as a fast one was a
# throughput nobody measured. The clock is bash's own ($EPOCHREALTIME) around the bare
# command: `date` and `timeout` around each timed run started two more processes, 6-10 ms on
# this virtual machine, which both tools' figures carried and which pulled every ratio toward
# 1 (flowhunt's 7 ms `cat 'dst port 1337'` was timed at 23 ms). The command is the one the
# warm-up ran under timeout.
qtime() {
    local - t0 t1 rc=0
    set -o pipefail
    timeout $TMO "$@" >/dev/null 2>"$tmp/qtime.err" || rc=$?
    if [ "$rc" -ne 0 ]; then
        log "failed (exit $rc): $* ($(tail -1 "$tmp/qtime.err"))"
        return 1
    fi
    for _ in 1 2 3 4 5; do
        t0=${EPOCHREALTIME/,/.}
        "$@" >/dev/null 2>&1 || { log "failed on a timed run: $*"; exit 1; }
        t1=${EPOCHREALTIME/,/.}
        calc "%.4f\n" "$t1 - $t0"
    done | sort -g | sed -n 3p
}

# hunt_ok RC ERRFILE: a hunt's exit status 0 (nothing found) or 1 (findings) is a run; any other
# stops the bench with the hunt's last words, rather than time a run that did not happen.
hunt_ok() {
    [ "$1" -le 1 ] || { log "hunt failed (exit $1): $(tail -3 "$2")"; exit 1; }
}

# ---- machine and versions ----
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
NPROC=$(nproc)
MEM=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
RMEM=$(cat /proc/sys/net/core/rmem_max)
KERNEL=$(uname -r)
V_FH=$("$FLOWHUNT" --version 2>&1 | head -1)
V_FHD=$("$FLOWHUNTD" --version 2>&1 | head -1)
V_NF=$( [ $HAVE_NF = 1 ] && nfcapd -V 2>&1 | grep -i version | head -1 || echo "not installed")
V_TS=$(command -v tshark >/dev/null && tshark -v 2>/dev/null | head -1 || echo "not installed")
DATE=$(date -u +%Y-%m-%d)
STAMP=$(date -u +%Y-%m-%dT%H:%M:%SZ)
T_BEGIN=$(now)
log "$MODE run, $FLOWS flows, scratch $tmp, load $LOAD"

# ---- workload ----
CMD_GEN="flowgen --format v9 --flows $FLOWS --seed $SEED --start $START --hours $HOURS --exporters $EXPORTERS --out w.pcap"
GEN_OUT=$(timeout $TMO "$FLOWGEN" --format v9 --flows "$FLOWS" --seed "$SEED" --start "$START" \
    --hours "$HOURS" --exporters "$EXPORTERS" --out "$tmp/w.pcap" 2>&1 | tail -1)
log "$GEN_OUT"
DGRAMS=$(echo "$GEN_OUT" | sed -n 's/.* in \([0-9]*\) datagrams.*/\1/p')

# ---- 0. loopback ceiling: the capture replayed into a bare recvmmsg sink ----
# The replay the collectors get below, not flowgen --to: that generates and encodes while it
# sends, and carried less than the replays into the collectors did (130 k against 188-206 k
# datagrams/s), so it was no ceiling.
log "loopback ceiling: flowgen --replay -> flowgen --sink"
timeout $TMO "$FLOWGEN" --sink 127.0.0.1:0 --count "$DGRAMS" --idle 2000 >"$tmp/sink.out" 2>"$tmp/sink.err" &
SINKP=$!
DPIDS="$DPIDS $SINKP"
for _ in $(seq 200); do grep -q 'listening on port' "$tmp/sink.err" && break; sleep 0.05; done
SINK_PORT=$(sed -n 's/.*listening on port //p' "$tmp/sink.err")
CMD_CEIL="flowgen --replay w.pcap --to 127.0.0.1:PORT; flowgen --sink 127.0.0.1:0 --count $DGRAMS --idle 2000"
CEIL_SEND=$(timeout $TMO "$FLOWGEN" --replay "$tmp/w.pcap" --to "127.0.0.1:$SINK_PORT" 2>&1 |
    grep 'flowgen: replayed' || true)
wait $SINKP 2>/dev/null || true
CEIL_RECV=$(cat "$tmp/sink.out")
CEIL_DPS=$(echo "$CEIL_RECV" | sed -n 's/.*datagrams_per_s \([0-9]*\).*/\1/p')
CEIL_GOT=$(echo "$CEIL_RECV" | sed -n 's/^datagrams \([0-9]*\) .*/\1/p')
CEIL_SEND_DPS=$(echo "$CEIL_SEND" | sed -n 's/.*(\([0-9]*\) datagrams\/s).*/\1/p')
CEIL_FPS=""
[ -z "$CEIL_SEND_DPS" ] || CEIL_FPS=$(calc "%.0f" "$CEIL_SEND_DPS * $FLOWS / $DGRAMS")
log "sink: $CEIL_RECV; $CEIL_SEND"

# ---- 1. ingest: flowhuntd and nfcapd, three runs each, alternating ----
# The CPU a collector spends on the same replay swings by a third from run to run on this
# machine (flowhuntd: 0.47 to 0.68 s for these 2 M flows in six runs), so each collector runs
# three times, alternating with the other, into a fresh directory each time; the CPU rows use
# the median run's CPU per stored flow, peak RSS the largest of the three, and stored flows,
# loss and bytes come from the first run, whose stores the queries below read.

# fh_ingest DIR: flowhuntd writing into DIR, the capture replayed at full speed; sets R_CPU
# (user + system s), R_RSS_KB, R_STORED, R_KDROP (kernel-buffer drops) and R_SEND.
fh_ingest() {
    local dir=$1 tp dp u s
    /usr/bin/time -f "%e %U %S %M" -o "$dir.time" \
        "$FLOWHUNTD" -l 127.0.0.1:0 -w "$dir" --ready-file "$dir.ready" --rcvbuf $RCVBUF \
        --stats-interval 3600 2>"$dir.log" &
    tp=$!
    dp=$(child_of $tp)
    DPIDS="$DPIDS $dp"
    for _ in $(seq 200); do [ -s "$dir.ready" ] && break; sleep 0.05; done
    [ -s "$dir.ready" ] || { log "flowhuntd not ready"; cat "$dir.log" >&2; exit 1; }
    R_SEND=$(replay "$(head -1 "$dir.ready")")
    wait_idle "$dp"
    stop $tp "$dp"
    read -r _ u s R_RSS_KB < <(tail -1 "$dir.time")
    R_CPU=$(calc "%.3f" "$u + $s")
    R_STORED=$("$FLOWHUNT" top "$dir" --by proto -n 0 --raw --format csv | awk -F, 'NR > 1 { s += $2 } END { print s + 0 }')
    R_KDROP=$(grep -o 'kernel buffer [0-9]*' "$dir.log" | awk '{ s += $3 } END { print s + 0 }')
    R_BYTES=$(find "$dir/flows" -name '*.seg' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
    R_USF=$(calc "%.4f" "1e6 * $R_CPU / ($R_STORED > 0 ? $R_STORED : 1)")
    log "flowhuntd: stored $R_STORED, cpu $R_CPU s, rss $R_RSS_KB KiB; $R_SEND"
}

# nf_ingest DIR: nfcapd -y writing into DIR, the same replay; sets R_CPU, R_RSS_KB, R_STORED,
# R_SEND.
nf_ingest() {
    local dir=$1 port tp dp u s
    mkdir -p "$dir"
    port=$(free_port)
    /usr/bin/time -f "%e %U %S %M" -o "$dir.time" \
        nfcapd -w "$dir" -b 127.0.0.1 -p "$port" -y -B $RCVBUF -t 3600 >"$dir.log" 2>&1 &
    tp=$!
    dp=$(child_of $tp)
    DPIDS="$DPIDS $dp"
    for _ in $(seq 200); do ss -Hlun "sport = :$port" | grep -q . && break; sleep 0.05; done
    R_SEND=$(replay "127.0.0.1:$port")
    wait_idle "$dp"
    stop $tp "$dp"
    read -r _ u s R_RSS_KB < <(tail -1 "$dir.time")
    R_CPU=$(calc "%.3f" "$u + $s")
    R_STORED=$(nfdump -R "$dir" -I 2>/dev/null | awk '/^Flows:/ { print $2; exit }')
    R_BYTES=$(find "$dir" -name 'nfcapd.2*' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
    R_USF=$(calc "%.4f" "1e6 * $R_CPU / ($R_STORED > 0 ? $R_STORED : 1)")
    log "nfcapd: stored $R_STORED, cpu $R_CPU s, rss $R_RSS_KB KiB; $R_SEND"
}

# median_of3 A B C
median_of3() { printf '%s\n' "$@" | median3; }

FH=$tmp/fh NF=$tmp/nf
FH_USF_RUNS="" NF_USF_RUNS="" FH_RSS_KB=0 NF_RSS_KB=0
for run in 1 2 3; do
    log "ingest run $run of 3: flowhuntd"
    fh_ingest "$FH.run$run"
    FH_USF_RUNS="$FH_USF_RUNS $R_USF"
    FH_RSS_KB=$((R_RSS_KB > FH_RSS_KB ? R_RSS_KB : FH_RSS_KB))
    [ $run = 1 ] && FH_STORED=$R_STORED FH_KDROP=$R_KDROP FH_SEND=$R_SEND FH_BYTES=$R_BYTES
    [ $HAVE_NF = 1 ] || continue
    log "ingest run $run of 3: nfcapd -y"
    nf_ingest "$NF.run$run"
    NF_USF_RUNS="$NF_USF_RUNS $R_USF"
    NF_RSS_KB=$((R_RSS_KB > NF_RSS_KB ? R_RSS_KB : NF_RSS_KB))
    [ $run = 1 ] && NF_STORED=$R_STORED NF_SEND=$R_SEND NF_BYTES=$R_BYTES
done
# the first runs' stores are the ones the queries read; the others go
mv "$FH.run1" "$FH"
rm -rf "$FH".run*
if [ $HAVE_NF = 1 ]; then
    mv "$NF.run1" "$NF"
    rm -rf "$NF".run*
fi
# the rows below take CPU s for the first run's stored flows at the median run's rate
# shellcheck disable=SC2086 # three numbers, one per argument
FH_CPU=$(calc "%.6f" "$(median_of3 $FH_USF_RUNS) * $FH_STORED / 1e6")
log "flowhuntd us per stored flow, three runs:$FH_USF_RUNS"
if [ $HAVE_NF = 1 ]; then
    # shellcheck disable=SC2086 # three numbers, one per argument
    NF_CPU=$(calc "%.6f" "$(median_of3 $NF_USF_RUNS) * $NF_STORED / 1e6")
    log "nfcapd us per stored flow, three runs:$NF_USF_RUNS"

    # ---- 2. bz2: the same file re-compressed ----
    log "bytes: nfdump -J 2 (bz2)"
    NFB=$tmp/nfbz2
    cp -r "$NF" "$NFB"
    : >"$tmp/bz.cpu"
    for f in "$NFB"/nfcapd.2*; do
        /usr/bin/time -f "%U %S" -a -o "$tmp/bz.cpu" timeout $TMO nfdump -r "$f" -J 2 >/dev/null 2>&1
    done
    BZ_CPU=$(awk '{ s += $1 + $2 } END { printf "%.2f", s }' "$tmp/bz.cpu")
    BZ_BYTES=$(find "$NFB" -name 'nfcapd.2*' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
fi

# ---- 1b. ingest paced at 2.5 M flows/s ----
# 2.5 M flows/s in 1400-byte datagrams is more datagrams per second than loopback carries on
# this machine (the ceiling above), so this run uses 9000-byte (jumbo-frame) datagrams of one
# dense hour, replayed at the datagram rate that makes 2.5 M flows/s.
PACED_FPS=2500000
CMD_PACED_GEN="flowgen --format v9 --flows $FLOWS --seed $SEED --start $START --hours 1 --exporters $EXPORTERS --mtu 9000 --out j.pcap"
J_OUT=$(timeout $TMO "$FLOWGEN" --format v9 --flows "$FLOWS" --seed "$SEED" --start "$START" \
    --hours 1 --exporters "$EXPORTERS" --mtu 9000 --out "$tmp/j.pcap" 2>&1 | tail -1)
J_DGRAMS=$(echo "$J_OUT" | sed -n 's/.* in \([0-9]*\) datagrams.*/\1/p')
J_RATE=$(calc "%.0f" "$PACED_FPS * $J_DGRAMS / $FLOWS")
CMD_PACED="flowgen --replay j.pcap --to 127.0.0.1:PORT --rate $J_RATE (datagrams/s: $PACED_FPS flows/s)"
log "paced: $J_OUT; replay at $J_RATE datagrams/s"

# paced_run NAME STORED_CMD DAEMON_CMD...: runs the daemon (listening on $PPORT), replays j.pcap
# paced, stops it; writes the flows it stored (STORED_CMD, run after it stopped) to NAME.paced.
paced_run() {
    local name=$1 stored=$2
    shift 2
    "$@" >"$tmp/$name.paced.log" 2>&1 &
    local p=$!
    DPIDS="$DPIDS $p"
    for _ in $(seq 200); do ss -Hlun "sport = :$PPORT" | grep -q . && break; sleep 0.05; done
    timeout $TMO "$FLOWGEN" --replay "$tmp/j.pcap" --to "127.0.0.1:$PPORT" --rate "$J_RATE" \
        >"$tmp/$name.paced.send" 2>&1 || true
    wait_idle "$p"
    kill -TERM "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    eval "$stored" >"$tmp/$name.paced"
}
PPORT=$(free_port)
paced_run fh "\"$FLOWHUNT\" top \"$tmp/fhp\" --by proto -n 0 --raw --format csv | awk -F, 'NR > 1 { s += \$2 } END { print s + 0 }'" \
    "$FLOWHUNTD" -l "127.0.0.1:$PPORT" -w "$tmp/fhp" --rcvbuf $RCVBUF --stats-interval 3600
FH_PACED=$(cat "$tmp/fh.paced")
FH_PACED_DROPS=$(sed -n 's/.*dropped: \(.*\)/\1/p' "$tmp/fh.paced.log" | tail -1)
# the rate the sender kept (a small workload in few datagrams ends before pacing settles)
FH_PACED_RATE=$(sed -n 's/.* in \([0-9.]*\) s .*/\1/p' "$tmp/fh.paced.send" | awk -v n="$FLOWS" '{ if ($1 > 0) printf "%.2f", n / $1 / 1e6; else print "-" }')
log "paced flowhuntd: stored $FH_PACED ($FH_PACED_DROPS); $(tail -1 "$tmp/fh.paced.send")"
NF_PACED="-"
if [ $HAVE_NF = 1 ]; then
    PPORT=$(free_port)
    mkdir -p "$tmp/nfp"
    paced_run nf "nfdump -R \"$tmp/nfp\" -I 2>/dev/null | awk '/^Flows:/ { print \$2; exit }'" \
        nfcapd -w "$tmp/nfp" -b 127.0.0.1 -p "$PPORT" -y -B $RCVBUF -t 3600
    NF_PACED=$(cat "$tmp/nf.paced")
    log "paced nfcapd: stored $NF_PACED; $(tail -1 "$tmp/nf.paced.send")"
fi

# ---- 3. queries ----
log "queries (median of 5)"
Q_FH_CAT=$(qtime "$FLOWHUNT" cat "$FH" dst port 1337)
Q_FH_CAT53=$(qtime "$FLOWHUNT" cat "$FH" dst port 53)
Q_FH_TOP=$(qtime "$FLOWHUNT" top "$FH" --by srcip --order bytes -n 10)
# the issue's "filtered top": a filter no zone map can skip (every group has DNS), so every
# row group's filter column, key and counters are decoded
Q_FH_TOPF=$(qtime "$FLOWHUNT" top "$FH" --by srcip --order bytes -n 10 dst port 53)
Q_FH_AGG=$(qtime "$FLOWHUNT" top "$FH" --by srcip,dstip -n 0)
Q_FH_IP=$(qtime "$FLOWHUNT" top "$FH" --by ip --order bytes -n 10)
# a threat feed swept over the store: 999 public addresses (fixed seed) and one resolver, one
# list in a filter file, as each tool reads it (flowhunt cat -f, nfdump -f)
awk 'BEGIN { srand(7); printf "dst ip in ["; for (i = 0; i < 999; i++)
    printf " %d.%d.%d.%d", 11 + int(rand() * 212), int(rand() * 256), int(rand() * 256),
        1 + int(rand() * 254); print " 10.0.0.53 ]" }' >"$tmp/iocs.filter"
Q_FH_LIST=$(qtime "$FLOWHUNT" cat "$FH" -f "$tmp/iocs.filter")
N_FH_LIST=$("$FLOWHUNT" cat "$FH" -f "$tmp/iocs.filter" | awk 'NR > 1' | wc -l)
N_FH_CAT=$("$FLOWHUNT" cat "$FH" dst port 1337 | awk 'NR > 1' | wc -l)
N_FH_CAT53=$("$FLOWHUNT" cat "$FH" dst port 53 | awk 'NR > 1' | wc -l)
if [ $HAVE_NF = 1 ]; then
    Q_NF_CAT=$(qtime nfdump -R "$NF" 'dst port 1337')
    Q_NF_CAT53=$(qtime nfdump -R "$NF" 'dst port 53')
    Q_NF_TOP=$(qtime nfdump -R "$NF" -s srcip/bytes -n 10)
    Q_NF_TOPF=$(qtime nfdump -R "$NF" -s srcip/bytes -n 10 'dst port 53')
    Q_NF_AGG=$(qtime nfdump -R "$NF" -A srcip,dstip)
    Q_NF_IP=$(qtime nfdump -R "$NF" -s ip/bytes -n 10)
    Q_NF_LIST=$(qtime nfdump -R "$NF" -f "$tmp/iocs.filter")
    N_NF_LIST=$(nfdump -q -R "$NF" -f "$tmp/iocs.filter" | grep -vc '^No matching flows' || true)
    N_NF_CAT=$(nfdump -q -R "$NF" 'dst port 1337' | grep -vc '^No matching flows' || true)
    N_NF_CAT53=$(nfdump -q -R "$NF" 'dst port 53' | grep -vc '^No matching flows' || true)
fi

# ---- 4. decode ----
log "decode: bench_decode $DECODE_ARGS"
# shellcheck disable=SC2086
DECODE_OUT=$(timeout $TMO "$BENCH_DECODE" $DECODE_ARGS --tmp "$tmp" 2>&1 || true)
log "store: bench_store w.pcap"
STORE_OUT=$(timeout $TMO "$BENCH_STORE" "$tmp/w.pcap" --runs 5 --tmp "$tmp" 2>&1 || true)
STORE_US=$(echo "$STORE_OUT" | sed -n 's/.*us_per_flow_median \([0-9.]*\).*/\1/p')
STORE_US_COLD=$(echo "$STORE_OUT" | sed -n 's/.*us_per_flow_median_cold \([0-9.]*\).*/\1/p')

# ---- 5. hunt ----
log "hunt"
CMD_HUNT="flowhunt hunt DIR --internal 10.0.0.0/16 --resolvers 10.0.0.53,10.0.1.53 --format json -o /dev/null --no-state"
/usr/bin/time -f "%e %U %S %M" -o "$tmp/hunt.time" timeout $TMO "$FLOWHUNT" hunt "$FH" \
    --internal 10.0.0.0/16 --resolvers 10.0.0.53,10.0.1.53 --format json -o /dev/null \
    --no-state 2>"$tmp/hunt.err" || hunt_ok $? "$tmp/hunt.err"
read -r HUNT_WALL HU HS HUNT_RSS_KB < <(tail -1 "$tmp/hunt.time")
HUNT_CPU=$(calc "%.2f" "$HU + $HS")

# ---- 5b. hunt, hourly: the same window slid by one hour, whole hours from DIR/hunt/cache ----
# The window is the capture's whole hours but the last ([START, START + W h)); the cold run
# prepares and keeps each hour, then the "hourly" run over [START + 1 h, START + W + 1 h)
# takes W - 1 hours from the cache and prepares the new one. Beside it, that window with
# --no-cache (what every run cost before the cache). The capture is read into a store of its
# own (--read: segments named by the flows' hours): the daemon's store above names them by
# arrival, today, so a window over the capture's day would list none of them.
W_HOURS=$(calc "%d" "int($HOURS) - 1")
if [ "$W_HOURS" -ge 2 ]; then
    log "hunt, hourly: cold over $W_HOURS h, then slid by one hour"
    iso() { date -u -d "$START $1 hours" +%Y-%m-%dT%H:%M:%SZ; }
    # shellcheck disable=SC2054 # the commas are inside arguments (--resolvers a,b)
    HARGS=(--internal 10.0.0.0/16 --resolvers 10.0.0.53,10.0.1.53 --format json -o /dev/null)
    FHR=$tmp/fhr
    timeout $TMO "$FLOWHUNTD" --read "$tmp/w.pcap" -w "$FHR" --quiet
    /usr/bin/time -f "%e %U %S %M" -o "$tmp/hcold.time" timeout $TMO "$FLOWHUNT" hunt "$FHR" \
        --from "$(iso 0)" --to "$(iso "$W_HOURS")" "${HARGS[@]}" 2>"$tmp/hcold.err" || hunt_ok $? "$tmp/hcold.err"
    /usr/bin/time -f "%e %U %S %M" -o "$tmp/hinc.time" timeout $TMO "$FLOWHUNT" hunt "$FHR" \
        --from "$(iso 1)" --to "$(iso $((W_HOURS + 1)))" "${HARGS[@]}" 2>"$tmp/hinc.err" || hunt_ok $? "$tmp/hinc.err"
    /usr/bin/time -f "%e %U %S %M" -o "$tmp/hnoc.time" timeout $TMO "$FLOWHUNT" hunt "$FHR" \
        --from "$(iso 1)" --to "$(iso $((W_HOURS + 1)))" "${HARGS[@]}" --no-cache \
        2>"$tmp/hnoc.err" || hunt_ok $? "$tmp/hnoc.err"
    read -r HCOLD_WALL HU HS HCOLD_RSS < <(tail -1 "$tmp/hcold.time")
    HCOLD_CPU=$(calc "%.2f" "$HU + $HS")
    read -r HINC_WALL HU HS _ < <(tail -1 "$tmp/hinc.time")
    HINC_CPU=$(calc "%.2f" "$HU + $HS")
    read -r HNOC_WALL HU HS _ < <(tail -1 "$tmp/hnoc.time")
    HNOC_CPU=$(calc "%.2f" "$HU + $HS")
    HCACHE_MB=$(du -sm "$FHR/hunt/cache" | cut -f1)
    HFLOWS=$("$FLOWHUNT" top "$FHR" --from "$(iso 1)" --to "$(iso $((W_HOURS + 1)))" --by proto \
        -n 0 --raw --format csv | awk -F, 'NR > 1 { s += $2 } END { print s + 0 }')
    rm -rf "$FHR"
    CMD_HOURLY="flowhunt hunt DIR --from START --to START+${W_HOURS}h (cold, keeps hours); then --from START+1h --to START+$((W_HOURS + 1))h, with the cache and with --no-cache (all the hunts, --internal/--resolvers as above, --format json -o /dev/null)"
fi

# ---- 6. hunt at scale: the three hunts, cold, over SCALE_FLOWS (full mode; 0 skips) ----
# Days of one organisation (flowgen's 20 M-flow bound per run: the same seed, one start per
# day), each read into one store (--read: hour segments) and its capture deleted.
SCALE_WALL="-" SCALE_CPU="-" SCALE_RSS_KB=0 SCALE_STORED=0
echo "CH_SKIP=no scale store (SCALE_FLOWS=0)" >"$tmp/ch.env"
if [ "$SCALE_FLOWS" -gt 0 ]; then
    SCALE_DAYS=$(((SCALE_FLOWS + 19999999) / 20000000))
    SCALE_PER=$((SCALE_FLOWS / SCALE_DAYS))
    START_S=$(date -u -d "$START" +%s)
    CMD_SCALE="for d in 0..$((SCALE_DAYS - 1)): flowgen --format v9 --flows $SCALE_PER --seed $SEED --start <START + d days> --hours 24 --exporters $EXPORTERS --out big.pcap; flowhuntd --read big.pcap -w BIG"
    log "scale: $SCALE_DAYS days of $SCALE_PER flows"
    for d in $(seq 0 $((SCALE_DAYS - 1))); do
        timeout $TMO "$FLOWGEN" --format v9 --flows "$SCALE_PER" --seed "$SEED" \
            --start "$((START_S + d * 86400))" --hours 24 --exporters "$EXPORTERS" \
            --out "$tmp/big.pcap" 2>/dev/null
        timeout $TMO "$FLOWHUNTD" --read "$tmp/big.pcap" -w "$tmp/big" --quiet
        rm -f "$tmp/big.pcap"
    done
    # cold: every hour of the window prepared and kept (BIG/hunt/cache), as a first scheduled
    # run does; then the window slid by one hour, as the next one does
    SCALE_H=$((SCALE_DAYS * 24))
    siso() { date -u -d "@$((START_S + $1 * 3600))" +%Y-%m-%dT%H:%M:%SZ; }
    # the flows of the cold run's window (its last hour left out for the slide), not of the store
    SCALE_STORED=$("$FLOWHUNT" top "$tmp/big" --from "$(siso 0)" --to "$(siso $((SCALE_H - 1)))" \
        --by proto -n 0 --raw --format csv | awk -F, 'NR > 1 { s += $2 } END { print s + 0 }')
    # shellcheck disable=SC2054 # the commas are inside arguments (--hunts a,b,c)
    SARGS=(--hunts beacon,scan,dns-exfil --internal 10.0.0.0/16 --resolvers 10.0.0.53,10.0.1.53
        --format json -o /dev/null)
    CMD_SCALE_HUNT="flowhunt hunt BIG --from START --to START+$((SCALE_H - 1))h --hunts beacon,scan,dns-exfil --internal 10.0.0.0/16 --resolvers 10.0.0.53,10.0.1.53 --format json -o /dev/null (cold: keeps its hours); then --from START+1h --to START+${SCALE_H}h"
    log "scale: hunting $SCALE_STORED flows"
    /usr/bin/time -f "%e %U %S %M" -o "$tmp/scale.time" timeout $((TMO * 3)) "$FLOWHUNT" hunt \
        "$tmp/big" --from "$(siso 0)" --to "$(siso $((SCALE_H - 1)))" "${SARGS[@]}" \
        2>"$tmp/scale.err" || hunt_ok $? "$tmp/scale.err"
    read -r SCALE_WALL SU SS SCALE_RSS_KB < <(tail -1 "$tmp/scale.time")
    SCALE_CPU=$(calc "%.1f" "$SU + $SS")
    SCALE_CACHE_MB=$(du -sm "$tmp/big/hunt/cache" 2>/dev/null | cut -f1)
    log "scale: the window slid by one hour"
    /usr/bin/time -f "%e %U %S %M" -o "$tmp/scale.inc.time" timeout $((TMO * 3)) "$FLOWHUNT" \
        hunt "$tmp/big" --from "$(siso 1)" --to "$(siso "$SCALE_H")" "${SARGS[@]}" \
        2>"$tmp/scale.inc.err" || hunt_ok $? "$tmp/scale.inc.err"
    read -r SINC_WALL SU SS SINC_RSS_KB < <(tail -1 "$tmp/scale.inc.time")
    SINC_CPU=$(calc "%.1f" "$SU + $SS")
    # ---- 6b. the beacon hunt beside ClickHouse over the store's first day ----
    log "scale: beacon hunt beside ClickHouse over the first day"
    bash "$(dirname "$0")/bench_clickhouse.sh" "$FLOWHUNT" "$tmp/big" "$(siso 0)" "$(siso 24)" \
        10.0.0.0/16 >"$tmp/ch.env" || echo "CH_SKIP=benchmarks/bench_clickhouse.sh failed" >>"$tmp/ch.env"
    rm -rf "$tmp/big"
fi
# chv KEY: a figure bench_clickhouse.sh printed (empty when it did not)
chv() { sed -n "s/^$1=//p" "$tmp/ch.env" | head -1; }
CH_Q=$(chv CH_QUERY_S)
[ -n "$(chv FH_BEACON_S)" ] || CH_Q=""

# ---- the table ----
TABLE=$tmp/table.md
row() { printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4" >>"$TABLE"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0 || a == "-" || b == "-") print "-"; else printf "%.2f\n", a / b }'; }
pct() { calc "%.2f" "100 * ($FLOWS - $1) / $FLOWS"; }
usf() { calc "%.3f" "1e6 * $1 / ($2 > 0 ? $2 : 1)"; }
mib() { calc "%.1f" "$1 / 1024"; }
bpf() { calc "%.2f" "$1 / ($2 > 0 ? $2 : 1)"; }
mfs() { calc "%.2f" "$1 / ($2 > 0 ? $2 : 1e-9) / 1e6"; }
NA="-"
NFv() { [ $HAVE_NF = 1 ] && echo "$1" || echo "$NA"; }

FH_LOSS=$(pct "$FH_STORED")
FH_US=$(usf "$FH_CPU" "$FH_STORED")
FH_BPF=$(bpf "$FH_BYTES" "$FH_STORED")
if [ $HAVE_NF = 1 ]; then
    NF_LOSS=$(pct "$NF_STORED"); NF_US=$(usf "$NF_CPU" "$NF_STORED"); NF_BPF=$(bpf "$NF_BYTES" "$NF_STORED")
    BZ_BPF=$(bpf "$BZ_BYTES" "$NF_STORED"); BZ_RATE=$(calc "%.3f" "$NF_STORED / ($BZ_CPU > 0 ? $BZ_CPU : 1e-9) / 1e6")
else
    NF_STORED=0 NF_CPU=0 NF_LOSS=$NA NF_US=$NA NF_BPF=$NA BZ_BPF=$NA NF_RSS_KB=0 BZ_RATE=$NA
    Q_NF_CAT=$NA Q_NF_CAT53=$NA Q_NF_TOP=$NA Q_NF_TOPF=$NA Q_NF_AGG=$NA N_NF_CAT=$NA N_NF_CAT53=$NA NF_SEND="-"
    Q_NF_LIST=$NA N_NF_LIST=$NA Q_NF_IP=$NA
fi
sendrate() { echo "$1" | sed -n 's/.* in \([0-9.]*\) s .*/\1/p' | awk -v n="$FLOWS" '{ if ($1 > 0) printf "%.2f", n / $1 / 1e6; else print "-" }'; }
qfs() { if [ "$2" = "$NA" ]; then echo "$NA"; else mfs "$1" "$2"; fi; }

: >"$TABLE"
echo '| figure | flowhunt | anchor (same run unless marked) | ratio flowhunt/anchor |' >>"$TABLE"
echo '| --- | ---: | ---: | ---: |' >>"$TABLE"
row "replay send rate, M flows/s (sendmmsg, full speed)" "$(sendrate "$FH_SEND")" "$(NFv "$(sendrate "$NF_SEND")")" "-"
row "loopback ceiling: datagrams/s into a bare recvmmsg sink ($CEIL_GOT of $DGRAMS received)" "${CEIL_DPS:-$NA}" "-" "-"
row "loopback ceiling: flows/s the replay pushed (sendmmsg, full speed, as into the collectors)" "${CEIL_FPS:-$NA}" "-" "-"
row "ingest: flows stored / sent ($FLOWS sent)" "$FH_STORED" "$(NFv "$NF_STORED") (nfcapd -y)" "-"
row "ingest: loss %" "$FH_LOSS" "$NF_LOSS" "-"
row "ingest paced for 2.5 M flows/s (sent at $FH_PACED_RATE M flows/s, 9000-byte datagrams): flows stored of $FLOWS (flowhuntd drops: $FH_PACED_DROPS)" "$FH_PACED" "$NF_PACED (nfcapd -y)" "-"
row "ingest: CPU us per stored flow, median of 3 runs (lower better; runs:$FH_USF_RUNS /$NF_USF_RUNS)" "$FH_US" "$NF_US" "$(ratio "$FH_US" "$NF_US")"
row "ingest: stored flows per CPU-s, M, median of 3 runs (goal 3x)" "$(mfs "$FH_STORED" "$FH_CPU")" "$(NFv "$(mfs "$NF_STORED" "$NF_CPU")")" "$(ratio "$(mfs "$FH_STORED" "$FH_CPU")" "$(NFv "$(mfs "$NF_STORED" "$NF_CPU")")")"
row "ingest: peak RSS MiB (VmHWM, the largest of 3 runs)" "$(mib "$FH_RSS_KB")" "$(NFv "$(mib "$NF_RSS_KB")")" "$(ratio "$(mib "$FH_RSS_KB")" "$(NFv "$(mib "$NF_RSS_KB")")")"
row "disk: bytes per flow vs nfcapd LZ4" "$FH_BPF" "$NF_BPF" "$(ratio "$FH_BPF" "$NF_BPF")"
row "disk: bytes per flow vs nfcapd bz2 (goal <= 0.7)" "$FH_BPF" "$BZ_BPF" "$(ratio "$FH_BPF" "$BZ_BPF")"
row "disk: bz2 re-compression, M flows per CPU-s (nfdump -J 2)" "-" "$BZ_RATE" "-"
for q in "cat 'dst port 1337' / nfdump filter|$Q_FH_CAT|$Q_NF_CAT|$N_FH_CAT|$N_NF_CAT" \
    "cat 'dst port 53' / nfdump filter|$Q_FH_CAT53|$Q_NF_CAT53|$N_FH_CAT53|$N_NF_CAT53" \
    "top --by srcip --order bytes -n 10 / -s srcip/bytes -n 10|$Q_FH_TOP|$Q_NF_TOP||" \
    "top --by srcip --order bytes -n 10 'dst port 53' / -s srcip/bytes -n 10 'dst port 53'|$Q_FH_TOPF|$Q_NF_TOPF||" \
    "top --by srcip,dstip -n 0 / -A srcip,dstip|$Q_FH_AGG|$Q_NF_AGG||" \
    "top --by ip --order bytes -n 10 / -s ip/bytes -n 10|$Q_FH_IP|$Q_NF_IP||" \
    "cat -f FEED (dst ip in [1000 addresses]) / nfdump -f FEED|$Q_FH_LIST|$Q_NF_LIST|$N_FH_LIST|$N_NF_LIST"; do
    IFS='|' read -r name qf qn nf_ nn_ <<<"$q"
    a=$(mfs "$FH_STORED" "$qf"); b=$(qfs "$NF_STORED" "$qn")
    m=""; [ -n "$nf_" ] && m=" ($nf_ / $nn_ matches)"
    row "query M flows/s, $name$m (wall ${qf} s / ${qn} s)" "$a" "$b" "$(ratio "$a" "$b")"
done
row "store: encode + compress CPU us per flow (bench_store, the writer alone, each flow in cache as the decoder leaves it; read from memory: ${STORE_US_COLD:--}; goal <= 0.15, a third of the anchor: nfcapd's whole cost per flow)" "${STORE_US:--}" "$NF_US" "$(ratio "${STORE_US:--}" "$NF_US")"
while read -r proto _ _ rate _ tsh rat _; do
    case $proto in v5 | v9 | ipfix) row "decode $proto, M flows per CPU-s (tshark cflow)" "$rate" "$tsh" "${rat%x}" ;; esac
done <<<"$DECODE_OUT"
HUNT_RATE=$(mfs "$FH_STORED" "$HUNT_WALL")
row "hunt: wall s (all the hunts; CPU $HUNT_CPU s)" "$HUNT_WALL" "-" "-"
if [ -n "$CH_Q" ]; then
    row "hunt: M flows/s (all the hunts; ClickHouse, this run: 'beacon hunt beside ClickHouse' below)" "$HUNT_RATE" "-" "-"
else
    # no anchor from another run: a constant is no measurement of this machine today
    row "hunt: M flows/s (all the hunts; ClickHouse not run: $(chv CH_SKIP))" "$HUNT_RATE" "-" "-"
fi
row "hunt: peak RSS MiB" "$(mib "$HUNT_RSS_KB")" "-" "-"
if [ "$W_HOURS" -ge 2 ]; then
    row "hunt, hourly: $W_HOURS-hour window, cold run that keeps its hours, wall s (CPU $HCOLD_CPU s; peak RSS $(mib "$HCOLD_RSS") MiB; cache $HCACHE_MB MB)" "$HCOLD_WALL" "-" "-"
    row "hunt, hourly: the window slid by one hour ($HFLOWS flows), $((W_HOURS - 1)) hours from the cache, wall s (CPU $HINC_CPU s) vs the same window --no-cache (CPU $HNOC_CPU s)" "$HINC_WALL" "$HNOC_WALL (--no-cache)" "$(ratio "$HINC_WALL" "$HNOC_WALL")"
    row "hunt, hourly: cold / hourly wall (goal >= 10)" "$(ratio "$HCOLD_WALL" "$HINC_WALL")" "-" "-"
fi
if [ "$SCALE_FLOWS" -gt 0 ]; then
    SCALE_RATE=$(mfs "$SCALE_STORED" "$SCALE_WALL")
    row "hunt at scale: beacon, scan, dns-exfil cold over $SCALE_STORED flows ($SCALE_DAYS days of one day's traffic: flowgen's seed $SEED each day; keeps its hours: cache ${SCALE_CACHE_MB:-?} MB), wall s (goal < 20 s for 100 M; CPU $SCALE_CPU s)" "$SCALE_WALL" "-" "-"
    row "hunt at scale: M flows/s; peak RSS MiB" "$SCALE_RATE; $(mib "$SCALE_RSS_KB")" "-" "-"
    row "hunt at scale: the window slid by one hour, wall s (CPU $SINC_CPU s; peak RSS $(mib "$SINC_RSS_KB") MiB); cold / hourly (goal >= 10)" "$SINC_WALL" "-" "$(ratio "$SCALE_WALL" "$SINC_WALL")"
fi
if [ -n "$CH_Q" ]; then
    CH_ROWS=$(chv CH_ROWS) FH_B=$(chv FH_BEACON_S) CH_LOAD=$(chv CH_LOAD_S)
    a=$(mfs "$CH_ROWS" "$FH_B") b=$(mfs "$CH_ROWS" "$CH_Q")
    row "beacon hunt beside ClickHouse $(chv CH_VERSION) (RITA v5 beacon scoring as SQL, max_threads 2), the scale store's first day, $CH_ROWS flows: M flows/s (wall $FH_B s / $CH_Q s; $(chv FH_FINDINGS) beacon findings / $(chv CH_PAIRS) pairs with score >= 0.5; goal >= 3)" "$a" "$b" "$(ratio "$a" "$b")"
    row "ClickHouse: loading that day, wall s ($(mfs "$CH_ROWS" "$CH_LOAD") M rows/s; then OPTIMIZE FINAL $(chv CH_MERGE_S) s; $(chv CH_DISK_MB) MB on disk)" "-" "$CH_LOAD" "-"
fi
T_END=$(now)

# ---- results file ----
OUTDIR=$(dirname "$0")/results
mkdir -p "$OUTDIR"
OUT=$OUTDIR/$DATE.md
[ "$MODE" = quick ] && OUT=$OUTDIR/$DATE-quick.md
{
    echo "# make bench ($MODE), $STAMP"
    echo
    echo "## Machine"
    echo
    echo "- $NPROC CPUs, $MODEL, $MEM, Linux $KERNEL"
    echo "- load average at start: $LOAD"
    echo "- net.core.rmem_max: $RMEM bytes (both collectors asked for $RCVBUF; nfcapd gets at most rmem_max; flowhuntd, with CAP_NET_ADMIN ($([ "$(id -u)" = 0 ] && echo "root here" || echo "not root here: capped too")), forces what it asked)"
    echo
    echo "## Versions"
    echo
    echo "- $V_FH; $V_FHD"
    echo "- nfcapd: $V_NF"
    echo "- $V_TS"
    echo "- ClickHouse: $(chv CH_VERSION | grep . || echo "not run ($(chv CH_SKIP))")"
    echo
    echo "## Commands (DIR, NFDIR: scratch directories, removed afterwards)"
    echo
    echo '```'
    echo "$CMD_GEN"
    echo "  -> $GEN_OUT"
    echo "$CMD_PACED_GEN"
    echo "  -> $J_OUT"
    echo "$CMD_PACED"
    echo "$CMD_CEIL"
    echo "  -> $CEIL_SEND"
    echo "  -> sink: $CEIL_RECV"
    echo "flowhuntd -l 127.0.0.1:0 -w DIR --ready-file READY --rcvbuf $RCVBUF --stats-interval 3600"
    echo "flowgen --replay w.pcap --to 127.0.0.1:PORT"
    echo "  -> $FH_SEND"
    echo "  (flowhuntd log: kernel-buffer drops $FH_KDROP)"
    if [ $HAVE_NF = 1 ]; then
        echo "nfcapd -w NFDIR -b 127.0.0.1 -p PORT -y -B $RCVBUF -t 3600"
        echo "flowgen --replay w.pcap --to 127.0.0.1:PORT"
        echo "  -> $NF_SEND"
        echo "cp -r NFDIR NFBZ2; nfdump -r NFBZ2/nfcapd.* -J 2"
    fi
    echo "# CPU and peak RSS: /usr/bin/time (getrusage of the collector, whole life incl. final flush);"
    echo "# each collector left running until it used no CPU for 0.6 s, then SIGTERM; three runs each,"
    echo "# alternating, fresh directories: CPU per stored flow is the median run's, RSS the largest"
    echo "# queries: one warm-up, then wall time median of 5 (bash $EPOCHREALTIME around the bare command); flows/s = flows in that store / wall s"
    echo "flowhunt cat DIR dst port 1337        | nfdump -R NFDIR 'dst port 1337'"
    echo "flowhunt cat DIR dst port 53          | nfdump -R NFDIR 'dst port 53'"
    echo "flowhunt top DIR --by srcip --order bytes -n 10 | nfdump -R NFDIR -s srcip/bytes -n 10"
    echo "flowhunt top DIR --by srcip --order bytes -n 10 dst port 53 | nfdump -R NFDIR -s srcip/bytes -n 10 'dst port 53'"
    echo "flowhunt top DIR --by srcip,dstip -n 0         | nfdump -R NFDIR -A srcip,dstip"
    echo "flowhunt top DIR --by ip --order bytes -n 10   | nfdump -R NFDIR -s ip/bytes -n 10"
    echo "flowhunt cat DIR -f FEED                      | nfdump -R NFDIR -f FEED   (FEED: dst ip in [ 999 random public addresses, awk srand(7), and 10.0.0.53 ])"
    echo "bench_decode $DECODE_ARGS"
    echo "bench_store w.pcap --runs 5"
    echo "  -> $(echo "$STORE_OUT" | tail -1)"
    echo "$CMD_HUNT"
    [ "$W_HOURS" -ge 2 ] && echo "$CMD_HOURLY"
    [ "$SCALE_FLOWS" -gt 0 ] && { echo "$CMD_SCALE"; echo "$CMD_SCALE_HUNT"; }
    if [ -n "$CH_Q" ]; then
        echo "# beacon hunt beside ClickHouse (benchmarks/bench_clickhouse.sh; its own server, 127.0.0.1, max_threads 2):"
        chv CMD_CH_LOAD
        chv CMD_CH_QUERY
        chv CMD_FH_BEACON
        echo "# each: one warm-up, then wall time median of 3; flows/s = rows loaded / wall s"
    else
        echo "# beacon hunt beside ClickHouse: skipped: $(chv CH_SKIP)"
    fi
    echo '```'
    echo
    echo "## Figures"
    echo
    cat "$TABLE"
    echo
    echo "Total bench time: $(calc "%.0f" "$T_END - $T_BEGIN") s."
    echo
    echo "## bench_decode output"
    echo
    echo '```'
    echo "$DECODE_OUT"
    echo '```'
} >"$OUT"
echo
cat "$TABLE"
echo
echo "results: $OUT ($(calc "%.0f" "$T_END - $T_BEGIN") s)"
