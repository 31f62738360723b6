#!/usr/bin/env bash
# SPC benchmark, one run, ratios printed:
#  1. a P chart with the Anhøj rules over 1,000,000 subgroups, CSV parsing included, by the
#     release `rounds spc`, against the Python `shewhart` package's p_chart (pandas read_csv +
#     p_chart, without and with its Nelson rules) on the same file;
#  2. 1,000 charts of 36 monthly points each (crates/stats/benches/spc_many.rs).
# Usage: bench/spc/run.sh [SUBGROUPS]   (ROUNDS=path/to/rounds skips the build; PYTHON=a python
# with shewhart skips making the venv)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
subgroups="${1:-1000000}"
work="${WORK:-${TMPDIR:-/tmp}/rounds-bench-spc}"
mkdir -p "$work"
data="$work/p-$subgroups.csv"

if [[ -z "${ROUNDS:-}" ]]; then
  (cd "$root" && cargo build --release -p rounds --quiet)
  ROUNDS="${CARGO_TARGET_DIR:-$root/target}/release/rounds"
fi
if [[ -z "${PYTHON:-}" ]]; then
  [[ -x "$work/venv/bin/python" ]] || python3 -m venv "$work/venv"
  "$work/venv/bin/python" -c 'import shewhart' 2>/dev/null || "$work/venv/bin/pip" install -q shewhart
  PYTHON="$work/venv/bin/python"
fi
[[ -f "$data" ]] || python3 "$here/make_data.py" "$data" "$subgroups"

seconds() { local start end; start=$(date +%s.%N); "$@"; end=$(date +%s.%N); echo "$end - $start" | bc -l; }
best() { # best of three wall-clock runs of a command
  local best=999999 t
  for _ in 1 2 3; do t=$(seconds "$@"); best=$(echo "if ($t < $best) $t else $best" | bc -l); done
  echo "$best"
}

rounds_csv=$(best "$ROUNDS" spc --chart p --input "$data" --format csv --output "$work/rounds.csv")
rounds_json=$(best "$ROUNDS" spc --chart p --input "$data" --format json --output "$work/rounds-all.json")
rounds_signals=$(best "$ROUNDS" spc --chart p --input "$data" --format json --points signals --output "$work/rounds.json")
rounds_cl=$(head -2 "$work/rounds.csv" | tail -1 | cut -d, -f5)
rounds_runs=$(python3 -c "import json,sys; s=json.load(open(sys.argv[1]))['summary'][0]; print(s['longest_run'], s['longest_run_max'], s['n_crossings'], s['n_crossings_min'], s['runs_signal'])" "$work/rounds.json")

peer() { # best of three: in-process read + chart seconds, and the whole process's wall time
  local best=999999 best_wall=999999 out total start end wall
  for _ in 1 2 3; do
    start=$(date +%s.%N)
    out=$("$PYTHON" "$here/shewhart_p.py" "$data" "$1")
    end=$(date +%s.%N)
    wall=$(echo "$end - $start" | bc -l)
    total=$(awk '/_seconds/ {s += $2} END {print s}' <<<"$out")
    best=$(echo "if ($total < $best) $total else $best" | bc -l)
    best_wall=$(echo "if ($wall < $best_wall) $wall else $best_wall" | bc -l)
  done
  echo "$best $best_wall"
}
read -r shewhart_plain shewhart_plain_wall <<<"$(peer none)"
read -r shewhart_nelson shewhart_nelson_wall <<<"$(peer nelson)"
shewhart_centre=$("$PYTHON" "$here/shewhart_p.py" "$data" none | awk '/^centre/ {$1=""; print}')

# CPU seconds (user + system) of one more run of each whole process: on a shared machine wall
# clock also counts waiting for a core, and rounds uses both cores where shewhart uses one.
cpu() { /usr/bin/time -f '%U %S' -o "$work/cpu" "$@" >/dev/null; awk '{print $1 + $2}' "$work/cpu"; }
rounds_signals_cpu=$(cpu "$ROUNDS" spc --chart p --input "$data" --format json --points signals --output "$work/rounds.json")
shewhart_plain_cpu=$(cpu "$PYTHON" "$here/shewhart_p.py" "$data" none)
load=$(cut -d' ' -f1-3 /proc/loadavg)

many=$(cd "$root" && cargo bench -p rounds-stats --bench spc_many --quiet 2>/dev/null | tail -1)

printf 'machine                                  %s cores, %s\n' "$(nproc)" "$(uname -m)"
printf 'subgroups                                %s (P chart, sizes 100-1000)\n' "$subgroups"
printf 'rounds spc (read CSV + chart + Anhøj, write CSV)   %.3f s\n' "$rounds_csv"
printf 'rounds spc (same, write JSON)                      %.3f s\n' "$rounds_json"
printf 'rounds spc (same, JSON of summary + flagged points) %.3f s\n' "$rounds_signals"
printf 'shewhart p_chart, rules=None (read_csv + chart)    %.3f s\n' "$shewhart_plain"
printf 'shewhart p_chart, rules=nelson                     %.3f s\n' "$shewhart_nelson"
printf 'shewhart, whole process (python + imports), None   %.3f s\n' "$shewhart_plain_wall"
printf 'shewhart, whole process (python + imports), nelson %.3f s\n' "$shewhart_nelson_wall"
printf 'ratio shewhart process(None) / rounds (flagged)    %.1fx\n' "$(echo "$shewhart_plain_wall / $rounds_signals" | bc -l)"
printf 'CPU: rounds (flagged) %.3f s, shewhart process (None) %.3f s, ratio %.1fx\n' "$rounds_signals_cpu" "$shewhart_plain_cpu" "$(echo "$shewhart_plain_cpu / $rounds_signals_cpu" | bc -l)"
printf 'load average at the end (1, 5, 15 min)            %s\n' "$load"
printf 'ratio shewhart(None) / rounds (CSV out)            %.1fx\n' "$(echo "$shewhart_plain / $rounds_csv" | bc -l)"
printf 'ratio shewhart(nelson) / rounds (CSV out)          %.1fx\n' "$(echo "$shewhart_nelson / $rounds_csv" | bc -l)"
printf 'ratio shewhart(None) / rounds (flagged points)     %.1fx\n' "$(echo "$shewhart_plain / $rounds_signals" | bc -l)"
printf 'ratio shewhart(nelson) / rounds (flagged points)   %.1fx\n' "$(echo "$shewhart_nelson / $rounds_signals" | bc -l)"
printf 'centre line: rounds %s, shewhart %s\n' "$rounds_cl" "$shewhart_centre"
printf 'rounds runs analysis (longest, max, crossings, min, signal): %s\n' "$rounds_runs"
printf '1,000 charts x 36 points                %s\n' "$many"
