#!/bin/sh
# demo.sh: what `make demo` shows a person: a synthetic day of NetFlow v5 from two routers with
# three threats planted in it, decoded by flowhuntd, and where the planted threats are.
#
#   sh scripts/demo.sh BUILD_DIR      (BUILD_DIR holds flowgen and flowhuntd; default build)
#
# It generates the capture and its ground truth with flowgen, decodes the capture with
# `flowhuntd --read`, prints the collector's counters, the first flows as a table, and for each
# planted case the flows that belong to it (found with the answer key: finding them without it
# is the analyzer's job). Everything happens in a temporary directory that is removed at the end.
set -eu

BUILD=${1:-build}
for prog in flowgen flowhuntd; do
    if [ ! -x "$BUILD/$prog" ]; then
        echo "demo: $BUILD/$prog is missing: run make first" >&2
        exit 1
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/flowhunt-demo.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
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

echo "== 1. generate: 24 hours of an organisation's NetFlow v5, two routers, three planted threats"
echo "\$ flowgen --format v5 --flows 5000 --seed 7 --start 2026-11-23 --hours 24 --exporters 2"
"$BUILD/flowgen" --format v5 --flows 5000 --seed 7 --start 2026-11-23 --hours 24 \
    --exporters 2 --out "$tmp/demo.pcap" --truth "$tmp/truth.jsonl"

echo
echo "== 2. decode: the collector reads the capture as it would read the wire"
echo "\$ flowhuntd --read demo.pcap --print csv > flows.csv"
"$BUILD/flowhuntd" --read "$tmp/demo.pcap" --print csv >"$tmp/flows.csv" 2>"$tmp/counters.txt"
sed 's/^/    /' "$tmp/counters.txt"
n_flows=$(($(wc -l <"$tmp/flows.csv") - 1))
echo "$n_flows flows decoded ($(head -1 "$tmp/flows.csv" | tr ',' '\n' | wc -l | tr -d ' ') columns each;" \
    "the main ones below)"

echo
echo "== 3. the first 10 flows"
sed -n '2,11p' "$tmp/flows.csv" | awk -v header=1 "$pretty" | table

echo
echo "== 4. the planted threats, found with the answer key (truth.jsonl)"
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

echo
echo "The hunts that find these without the answer key (beacons, scans, DNS exfiltration)" \
    "arrive with the analyzer issue: flowhunt."
