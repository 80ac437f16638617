#!/bin/sh
# demo.sh: what `make demo` shows a person: a synthetic day of IPFIX from two routers with
# threats planted in it, sent to a running collector, stored, and hunted.
#
#   sh scripts/demo.sh BUILD_DIR      (BUILD_DIR holds flowgen, flowhuntd, flowhunt; default build)
#
# It generates the capture and its ground truth with flowgen, starts flowhuntd on a loopback
# port the kernel picks, waits for its ready file, replays the capture into it, stops it
# (SIGTERM stores everything), shows what was stored with `flowhunt cat` and `flowhunt top`,
# then runs the hunts and prints their findings, and last the answer key beside them.
# Everything happens in a temporary directory that is removed at the end.
set -eu

BUILD=${1:-build}
for prog in flowgen flowhuntd flowhunt; do
    if [ ! -x "$BUILD/$prog" ]; then
        echo "demo: $BUILD/$prog is missing: run make first" >&2
        exit 1
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/flowhunt-demo.XXXXXX")
pid=
trap 'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# Turns flowhuntd CSV rows into readable comma-separated rows: UTC start time, duration,
# endpoints, protocol name, TCP flags as letters (nfdump's UAPRSF order), counters, exporter.
# Plain POSIX awk: the date is computed by hand (days to civil date), no strftime.
# shellcheck disable=SC2016 # awk's $fields, not the shell's
pretty='
function civil(ms,    s, d, z, era, doe, yoe, y, doy, mp, dd, m, hh, mi, ss) {
    s = int(ms / 1000); d = int(s / 86400); s -= d * 86400
    z = d + 719468; era = int(z / 146097); doe = z - era * 146097
    yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365)
    y = yoe + era * 400; doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100))
    mp = int((5 * doy + 2) / 153); dd = doy - int((153 * mp + 2) / 5) + 1
    m = mp < 10 ? mp + 3 : mp - 9; if (m <= 2) y++
    hh = int(s / 3600); mi = int((s % 3600) / 60); ss = s % 60
    return sprintf("%04d-%02d-%02d %02d:%02d:%02d.%03d", y, m, dd, hh, mi, ss, ms % 1000)
}
function flags(f,    out, i, names, bit) {
    names = "UAPRSF"; out = ""; bit = 32
    for (i = 1; i <= 6; i++) { out = out (int(f / bit) % 2 ? substr(names, i, 1) : "."); bit /= 2 }
    return out
}
BEGIN { FS = ","; OFS = ","
        if (header) print "start (UTC)", "dur s", "src", "dst", "sport", "dport", "proto", "flags", "packets", "bytes", "exporter" }
{
    p = $7 == 6 ? "tcp" : $7 == 17 ? "udp" : $7 == 1 ? "icmp" : $7
    print civil($1), sprintf("%.3f", ($2 - $1) / 1000), $3, $4, $5, $6, p,
          ($7 == 6 ? flags($8) : "-"), $9, $10, $11
}'

table() {
    if command -v column >/dev/null 2>&1; then
        column -t -s,
    else
        cat
    fi
}

# Value of "key" in a one-line JSON object (strings unquoted).
json() {
    printf '%s\n' "$1" | sed -n 's/.*"'"$2"'":"\{0,1\}\([^",}]*\).*/\1/p'
}

echo "== 1. generate: 24 hours of an organisation's IPFIX, two routers, planted threats"
echo "\$ flowgen --format ipfix --flows 20000 --seed 7 --start 2026-11-23 --hours 24 --exporters 2"
"$BUILD/flowgen" --format ipfix --flows 20000 --seed 7 --start 2026-11-23 --hours 24 \
    --exporters 2 --out "$tmp/demo.pcap" --truth "$tmp/truth.jsonl"

echo
echo "== 2. collect: flowhuntd on loopback, the capture replayed into it"
mkdir "$tmp/data"
"$BUILD/flowhuntd" -l 127.0.0.1:0 -w "$tmp/data" --instance demo --ready-file "$tmp/ready" \
    --stats-interval 1 2>"$tmp/flowhuntd.log" &
pid=$!
i=0
while [ ! -s "$tmp/ready" ]; do
    i=$((i + 1))
    if [ $i -gt 200 ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "demo: flowhuntd did not become ready:" >&2
        cat "$tmp/flowhuntd.log" >&2
        exit 1
    fi
    sleep 0.05
done
addr=$(head -1 "$tmp/ready")
echo "\$ flowhuntd -l 127.0.0.1:0 -w DATA --ready-file READY   (ready: listening on $addr)"
echo "\$ flowgen --replay demo.pcap --to $addr"
"$BUILD/flowgen" --replay "$tmp/demo.pcap" --to "$addr"
# How many flows the capture holds: the collector has them all when its counters say so.
sent=$(($("$BUILD/flowhuntd" --read "$tmp/demo.pcap" --quiet --print csv | wc -l) - 1))
# Wait until the collector has decoded every flow of the capture (its counters file says),
# then stop it: SIGTERM writes everything out.
prom="$tmp/data/state/demo/flowhuntd.prom"
i=0
while :; do
    got=$(awk '/^flowhunt_flows_total/ { s += $2 } END { print s + 0 }' "$prom" 2>/dev/null || echo 0)
    [ "$got" -ge "$sent" ] && break
    i=$((i + 1))
    [ $i -gt 200 ] && break
    sleep 0.05
done
kill -TERM "$pid"
wait "$pid" || true
pid=
# Its log: where it listened, then its last counters (one line per listener and worker).
{
    sed -n 's/^.*flowhuntd info: //p' "$tmp/flowhuntd.log" | grep -E '^listening'
    sed -n 's/^.*flowhuntd info: //p' "$tmp/flowhuntd.log" | grep -E '^(worker|127)' | tail -n 3
    sed -n 's/^.*flowhuntd info: //p' "$tmp/flowhuntd.log" | grep -E '^stopped'
} | sed 's/^/    /'

echo
echo "== 3. what was stored: the first flows, and the top talkers"
echo "\$ flowhunt cat DATA --limit 8 --format text"
"$BUILD/flowhunt" cat "$tmp/data" --limit 8 --format text
echo
echo "\$ flowhunt top DATA --by srcip --order bytes -n 5"
"$BUILD/flowhunt" top "$tmp/data" --by srcip --order bytes -n 5
"$BUILD/flowhunt" cat "$tmp/data" --format csv >"$tmp/flows.csv"

echo
echo "== 4. the hunts"
echo "\$ flowhunt hunt DATA --internal 10.0.0.0/16 --resolvers 10.0.0.53,10.0.1.53"
"$BUILD/flowhunt" hunt "$tmp/data" --internal 10.0.0.0/16 --resolvers 10.0.0.53,10.0.1.53 \
    --now 2026-11-24T00:00:00Z || [ $? -eq 1 ]

echo
echo
echo "== 5. the answer key: what flowgen planted (truth.jsonl), to check the findings against"
while IFS= read -r line; do
    scenario=$(json "$line" scenario)
    technique=$(json "$line" technique)
    src=$(json "$line" src)
    dst=$(json "$line" dst)
    port=$(json "$line" dst_port)
    proto=$(json "$line" proto)
    case $proto in 6) pname=tcp ;; 17) pname=udp ;; *) pname=$proto ;; esac
    case $scenario in
    beacon)
        what="every $(json "$line" period_s) s, jitter $(json "$line" jitter)" ;;
    scan-horizontal)
        what="SYN probes to $(json "$line" targets) addresses" ;;
    dns-exfil)
        what="$(json "$line" request_bytes) bytes out in $(json "$line" queries) sessions" ;;
    *)
        what="" ;;
    esac
    # Both directions of the case: src to the peer on its port, and the answers back. A /24
    # peer (the scan) matches every address in it.
    prefix=${dst%0/24}
    awk -F, -v s="$src" -v d="$dst" -v pre="$prefix" -v port="$port" '
        function peer(a) { return pre != d ? index(a, pre) == 1 : a == d }
        NR > 1 && (($3 == s && peer($4) && $6 == port) || (peer($3) && $4 == s && $5 == port))
    ' "$tmp/flows.csv" >"$tmp/case.csv"
    count=$(wc -l <"$tmp/case.csv" | tr -d ' ')
    echo
    echo "planted $scenario ($technique) $src -> $dst:$port/$pname, $what: $count flows" \
        "(truth says $(json "$line" flows))"
    head -4 "$tmp/case.csv" | awk -v header=0 "$pretty" | table | sed 's/^/    /'
done <"$tmp/truth.jsonl"

