#!/bin/sh
# demo.sh: what `make demo` shows a person: a synthetic day of IPFIX from two routers with
# threats planted in it, sent to a running collector, stored, and hunted.
#
#   sh scripts/demo.sh BUILD_DIR      (BUILD_DIR holds flowgen, flowhuntd, flowhunt; default build)
#
# It generates the capture and its ground truth with flowgen, starts flowhuntd on a loopback
# port the kernel picks, waits for its ready file, replays the capture into it, stops it
# (SIGTERM stores everything), shows what was stored with `flowhunt cat` and `flowhunt top`,
# then runs every hunt (with the threat-intel feed flowgen also wrote), prints one line per
# finding and the whole text of the High and Critical ones, then the answer key (each planted
# case and benign look-alike beside the findings about it), and last the conversations a
# Critical beacon finding counted (flowhunt conv).
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
    --exporters 2 --out "$tmp/demo.pcap" --truth "$tmp/truth.jsonl" --intel "$tmp/intel.txt"
echo "(also a threat-intel feed, intel.txt, naming the planted IOC among decoys)"

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
echo "== 3. what was stored: the first flows, the top talkers, the traffic over time"
echo "\$ flowhunt cat DATA --limit 8 --format text"
"$BUILD/flowhunt" cat "$tmp/data" --limit 8 --format text
echo
echo "\$ flowhunt top DATA --by srcip --order bytes -n 5"
"$BUILD/flowhunt" top "$tmp/data" --by srcip --order bytes -n 5
echo
echo "\$ flowhunt count DATA --bin 2h      # the day's traffic over time (SiLK's rwcount)"
"$BUILD/flowhunt" count "$tmp/data" --bin 2h
echo
# The feed swept over the stored history (--intel reads the formats the intel hunt does; its
# summary line goes to stderr, kept out of the way here).
echo "\$ flowhunt top DATA --intel intel.txt --by srcip,dstip -n 5   # who talked to an indicator"
"$BUILD/flowhunt" top "$tmp/data" --intel "$tmp/intel.txt" --by srcip,dstip -n 5 2>/dev/null
echo
# Fan-out by hand, a question nfdump has no one command for: the sources that reached the
# most internal addresses on the ports scanners and worms sweep, and over what span.
echo "\$ flowhunt top DATA --by srcip --distinct dstip --order distinct --times -n 5 \\"
echo "      'dst net 10.0.0.0/8 and (dst port 445 or dst port 3389 or dst port 22)'   # fan-out"
"$BUILD/flowhunt" top "$tmp/data" --by srcip --distinct dstip --order distinct --times -n 5 \
    'dst net 10.0.0.0/8 and (dst port 445 or dst port 3389 or dst port 22)' 2>/dev/null

echo
echo "== 4. the hunts (all nine), with the feed"
# The organisation's IPv6 resolvers: the busiest DNS servers inside its ULA range.
v6res=$("$BUILD/flowhunt" top "$tmp/data" --by dstip -n 2 'dst port 53 and dst net fd00::/8' |
    awk 'NR > 1 { printf "%s%s", n++ ? "," : "", $1 }')
echo "\$ flowhunt top DATA --by dstip -n 2 'dst port 53 and dst net fd00::/8'   (IPv6 resolvers: $v6res)"
# The organisation's authorised vulnerability scanner, allow-listed with its reason: its scans
# are reported as suppressed, not dropped.
printf 'host@scan = 10.0.0.70 authorised vulnerability scanner (Nessus), ticket SEC-1234\n' \
    >"$tmp/allow.txt"
echo "\$ cat allow.txt"
sed 's/^/    /' "$tmp/allow.txt"
args="--internal 10.0.0.0/16,fd00::/8 --resolvers 10.0.0.53,10.0.1.53,$v6res --intel $tmp/intel.txt --allow $tmp/allow.txt --now 2026-11-24T00:00:00Z"
echo "\$ flowhunt hunt DATA --internal 10.0.0.0/16,fd00::/8 --resolvers 10.0.0.53,10.0.1.53,$v6res \\"
echo "      --intel intel.txt --allow allow.txt -o report.txt"
# shellcheck disable=SC2086 # $args is a list of words
"$BUILD/flowhunt" hunt "$tmp/data" $args -o "$tmp/report.txt" 2>"$tmp/hunt.err" || [ $? -eq 1 ]
# shellcheck disable=SC2086
"$BUILD/flowhunt" hunt "$tmp/data" $args --format json -o "$tmp/report.jsonl" 2>/dev/null ||
    [ $? -eq 1 ]
awk '/^#/ { print; next } { exit }' "$tmp/report.txt" # the header: counts, data, folds
echo
echo "Every finding, one line each (the whole report, evidence included, follows for the High"
echo "and Critical ones):"
echo
# One line per finding from the JSON lines: ID, risk, confidence, technique, host -> peer:port.
{
    echo "hunt id,risk,confidence,hunt,technique,host,peer,port,proto,allow-listed"
    while IFS= read -r line; do
        printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$(json "$line" hunt_id)" \
            "$(json "$line" risk_level)" "$(json "$line" confidence)" "$(json "$line" hunt)" \
            "$(json "$line" technique)" "$(json "$line" host)" "$(json "$line" peer)" \
            "$(json "$line" port)" "$(json "$line" proto)" "$(json "$line" suppressed)"
    done <"$tmp/report.jsonl"
} | table | sed 's/^/    /'
echo
# The text report's High and Critical findings, whole.
awk 'BEGIN { RS = ""; ORS = "\n\n" } /\nRisk Level: (High|Critical)\n/' "$tmp/report.txt"

echo
echo "== 5. the answer key: what flowgen planted (truth.jsonl) and what the hunts said of it"
echo
# A finding covers a planted case when it is about the case's host (an address, or any host
# for a case of many hosts, written as a network) and its peer (the same address, or inside
# the case's network). Benign look-alikes should be absent or Low/Medium.
while IFS= read -r line; do
    scenario=$(json "$line" scenario)
    technique=$(json "$line" technique)
    host=$(json "$line" host)
    peer=$(json "$line" peer)
    port=$(json "$line" port)
    proto=$(json "$line" proto)
    found=$(awk -v h="$host" -v p="$peer" '
        function val(s, k,    i, r) {
            i = index(s, "\"" k "\":"); if (!i) return ""
            r = substr(s, i + length(k) + 3); sub(/^"/, "", r); sub(/["},].*/, "", r); return r
        }
        # by its text: a.b.0.0/16 is "a.b.", fd00::/8 is "fd" (octet and nibble boundaries)
        function inside(a, net,    pre) {
            if (net == a) return 1
            if (index(net, "/") == 0) return 0
            pre = net; sub(/\/.*/, "", pre)
            if (index(pre, ":")) { sub(/::.*/, "", pre); sub(/0+$/, "", pre) }
            else { while (pre ~ /\.0$/) sub(/\.0$/, "", pre); pre = pre "." }
            return pre != "" && pre != "." && index(a, pre) == 1
        }
        inside(val($0, "host"), h) && (inside(val($0, "peer"), p) || val($0, "peer") == p) {
            printf "%s%s %s %s (%s%s)", n++ ? "; " : "", val($0, "hunt_id"), val($0, "risk_level"),
                val($0, "technique"), val($0, "hunt"),
                val($0, "suppressed") == "true" ? ", allow-listed" : ""
        }' "$tmp/report.jsonl")
    # A first contact is new only against a baseline: the rare hunt learns [rare] learning_days
    # (2) before it claims one, and this capture is a day.
    if [ -z "$found" ] && [ "$scenario" = first-seen ]; then
        found="no finding: the rare hunt claims a first contact only after 2 days of baseline ([rare] learning_days); this capture is one day"
    fi
    printf '%-26s %-9s %s -> %s:%s/%s\n    %s\n' "$scenario" "${technique:--}" "$host" "$peer" \
        "$port" "$proto" "${found:-no finding}"
done <"$tmp/truth.jsonl"

echo
echo "== 6. from a finding to what it counted: the first Critical beacon's conversations"
# What the finding's `counted:` command prints (flowhunt conv: the records stitched, copies
# dropped, both directions paired, as the hunt saw them), first rows, with the gap from each
# connection to the one before: the timer the beacon hunt scored.
beacon=$(grep '"hunt":"beacon"' "$tmp/report.jsonl" | grep '"risk_level":"Critical"' | head -1)
if [ -n "$beacon" ]; then
    bf="host $(json "$beacon" host) and host $(json "$beacon" peer) and port $(json "$beacon" port) and proto $(json "$beacon" proto)"
    echo "\$ flowhunt conv DATA --format csv --limit 8 '$bf'"
    "$BUILD/flowhunt" conv "$tmp/data" --format csv --limit 8 "$bf" |
        awk -F, 'NR == 1 { print "time_start,orig_addr,resp_addr,resp_port,bytes_out,bytes_in,state,gap_s"; next }
            { gap = NR > 2 ? sprintf("%.1f", ($1 - prev) / 1000) : "-"
              print $1 "," $4 "," $6 "," $7 "," $9 "," $11 "," $14 "," gap; prev = $1 }' |
        table | sed 's/^/    /'
else
    echo "(no Critical beacon in this run)"
fi
