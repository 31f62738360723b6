#!/usr/bin/env bash
# Benchmark of `rounds pv signals` against vigipy on 1,000,000 synthetic reports (~8.1 M
# drug-event rows). Generated data, the venv and results go to $PV_BENCH (default
# /work/scratch-pv/bench), never into the repository.
#
#   bash bench/pv/run.sh            # generate if needed, build, run both, print the comparison
#   ROUNDS_BIN=path/to/rounds bash bench/pv/run.sh   # use an existing release binary
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="${PV_BENCH:-/work/scratch-pv/bench}"
mkdir -p "$work/out"

if [ ! -x "$work/venv/bin/python" ]; then
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install -q -r "$repo/tools/pv/requirements.txt"
fi
py="$work/venv/bin/python"

if [ ! -f "$work/data/reports.csv" ]; then
  "$py" "$repo/bench/pv/generate.py" --out "$work/data"
fi

bin="${ROUNDS_BIN:-}"
if [ -z "$bin" ]; then
  (cd "$repo" && cargo build --release -p rounds)
  bin="${CARGO_TARGET_DIR:-$repo/target}/release/rounds"
fi

measure() { # label, then the command; appends "label wall_s user_s sys_s max_rss_kb"
  local label="$1"; shift
  /usr/bin/time -v "$@" 2> "$work/out/$label.time" > "$work/out/$label.stdout" || { cat "$work/out/$label.time"; exit 1; }
  awk -v l="$label" '
    /Elapsed \(wall clock\)/ { n = split($NF, t, ":"); w = (n == 3) ? t[1]*3600 + t[2]*60 + t[3] : t[1]*60 + t[2] }
    /User time/ { u = $NF } /System time/ { s = $NF } /Maximum resident/ { m = $NF }
    END { printf "%-22s wall %7.2f s  user %7.2f s  sys %6.2f s  peak %7.0f MB\n", l, w, u, s, m / 1024 }' \
    "$work/out/$label.time" | tee -a "$work/out/summary.txt"
}

: > "$work/out/summary.txt"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$work/out/summary.txt"
reports="$work/data/reports.csv"
measure rounds_reports "$bin" pv signals --reports "$reports" --output "$work/out/signals.csv" --prior-out "$work/out/prior_reports.json"
measure rounds_reports_all "$bin" pv signals --reports "$reports" --min-count 1 --output "$work/out/signals_all.csv"
measure rounds_pairs "$bin" pv signals --reports "$reports" --margins pairs --output "$work/out/signals_pairs.csv" --prior-out "$work/out/prior_pairs.json"
measure vigipy "$py" "$repo/bench/pv/vigipy_bench.py" "$reports" "$work/out/vigipy.json"
cat "$work/out/vigipy.stdout" | tee -a "$work/out/summary.txt"

"$py" - "$work/out" <<'PY' | tee -a "$work/out/summary.txt"
import json, sys, re
out = sys.argv[1]
def wall(label):
    text = open(f"{out}/{label}.time").read()
    t = re.search(r"Elapsed \(wall clock\).*: (\S+)", text).group(1).split(":")
    return sum(float(x) * 60 ** i for i, x in enumerate(reversed(t)))
v = json.load(open(f"{out}/vigipy.json"))
ours = wall("rounds_reports")
print(f"ratio vigipy GPS alone (wall) / rounds whole pipeline: {v['gps']['wall_s'] / ours:.1f}x")
print(f"ratio vigipy GPS alone (CPU)  / rounds whole pipeline (wall): {v['gps']['cpu_s'] / ours:.1f}x")
print(f"ratio vigipy PRR+ROR+BCPNN+GPS (wall) / rounds --margins pairs: "
      f"{sum(v[k]['wall_s'] for k in ('prr', 'ror', 'bcpnn', 'gps')) / wall('rounds_pairs'):.1f}x")
for name in ("prior_reports", "prior_pairs"):
    print(name, json.dumps(json.load(open(f"{out}/{name}.json"))))
print("vigipy_prior (pair margins)", json.dumps(v["gps_prior"]))
PY
