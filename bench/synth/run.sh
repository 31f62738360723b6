#!/usr/bin/env bash
# Benchmark of `rounds demo`: times generation at a scale (medium by default) a few times and
# reports wall seconds, CPU, peak memory and records (FHIR resources, FAERS rows, surveillance
# rows) per second. Output goes to $SYNTH_BENCH (default /work/scratch-synth/bench), never into
# the repository.
#
#   bash bench/synth/run.sh                 # medium, 3 runs
#   SCALE=large RUNS=1 bash bench/synth/run.sh
#   ROUNDS_BIN=path/to/rounds bash bench/synth/run.sh   # use an existing release binary
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="${SYNTH_BENCH:-/work/scratch-synth/bench}"
scale="${SCALE:-medium}"
runs="${RUNS:-3}"
seed="${SEED:-1}"
mkdir -p "$work"

bin="${ROUNDS_BIN:-}"
if [ -z "$bin" ]; then
  (cd "$repo" && cargo build --release -p rounds)
  bin="${CARGO_TARGET_DIR:-$repo/target}/release/rounds"
fi

echo "rounds demo --scale $scale --seed $seed on $(nproc) cores, $runs runs"
printf '%-4s %8s %8s %8s %10s %12s %12s\n' run wall_s user_s sys_s max_rss_mb records records_per_s
for run in $(seq 1 "$runs"); do
  out="$work/$scale"
  rm -rf "$out"
  /usr/bin/time -f '%e %U %S %M' -o "$work/time.txt" \
    "$bin" demo --seed "$seed" --scale "$scale" --output "$out" > "$work/demo.log"
  read -r wall user sys rss < "$work/time.txt"
  records=$(python3 -c 'import json,sys; print(sum(json.load(open(sys.argv[1]))["files"].values()))' "$out/truth.json")
  printf '%-4s %8s %8s %8s %10d %12d %12.0f\n' "$run" "$wall" "$user" "$sys" $((rss / 1024)) "$records" \
    "$(python3 -c "print($records / max($wall, 0.01))")"
done
du -sh "$work/$scale" | awk '{print "output size: " $1}'
# The same seed gives the same bytes: the checksum of truth.json and of every file.
(cd "$work/$scale" && find . -type f | sort | xargs sha256sum | sha256sum | awk '{print "output sha256: " $1}')
