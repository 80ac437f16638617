#!/bin/sh
# golden.sh: regenerates the golden files of tests/golden/ from the current build.
#
#   sh scripts/golden.sh [BUILD_DIR]          rewrite the expected outputs (.csv, .jsonl)
#   sh scripts/golden.sh [BUILD_DIR] --pcap   also remake the input capture with flowgen
#
# The capture is the fixed input: remake it only when flowgen's v5 output should change the
# test's input on purpose. Review `git diff tests/golden` before committing either.
set -eu
build=${1:-build}
dir=tests/golden
if [ "${2:-}" = "--pcap" ]; then
    "$build/flowgen" --format v5 --flows 1000 --seed 1 --start 2026-11-23T08:00:00Z --hours 2 \
        --exporters 2 --out "$dir/v5_small.pcap"
fi
"$build/flowhuntd" --read "$dir/v5_small.pcap" --print csv 2>/dev/null >"$dir/v5_small.csv"
"$build/flowhuntd" --read "$dir/v5_small.pcap" --print json 2>/dev/null | head -n 40 \
    >"$dir/v5_small.jsonl"
echo "golden files in $dir rewritten from $build"
