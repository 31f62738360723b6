#!/usr/bin/env bash
# Risk-adjustment benchmark: `rounds riskadj` (release) against R's glm(family = binomial) on the
# same seeded 1,000,000 × 20 file, in the same run; checks the coefficients agree and prints the
# ratio (wall clock, and CPU time, which a loaded machine distorts less).
# Usage: bench/riskadj/run.sh [ROWS]   (needs R; ROUNDS=path/to/rounds to skip the build)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
rows="${1:-1000000}"
work="${WORK:-${TMPDIR:-/tmp}/rounds-bench-riskadj}"
mkdir -p "$work"
data="$work/patients-$rows.csv"

if [[ -z "${ROUNDS:-}" ]]; then
  (cd "$here/../.." && cargo build --release -p rounds --quiet)
  ROUNDS="${CARGO_TARGET_DIR:-$here/../../target}/release/rounds"
fi
[[ -f "$data" ]] || Rscript "$here/make_data.R" "$data" "$rows"

covariates=$(seq -f 'x%02g' 1 18 | paste -sd, -)
# Best of three runs of rounds (a couple of seconds each): on a shared machine its two threads
# wait for cores more than R's one does. R's fit, some ten seconds, runs once.
rounds_seconds=999999
rounds_cpu=999999
for _ in 1 2 3; do
  start=$(date +%s.%N)
  /usr/bin/time -f '%U %S' -o "$work/rounds.cpu" "$ROUNDS" riskadj --input "$data" --outcome died --group hospital \
    --covariates "$covariates" --categorical admission,frailty --format csv --output "$work/rounds.csv"
  end=$(date +%s.%N)
  rounds_seconds=$(echo "t = $end - $start; if (t < $rounds_seconds) t else $rounds_seconds" | bc -l)
  cpu=$(awk '{print $1 + $2}' "$work/rounds.cpu")
  rounds_cpu=$(echo "if ($cpu < $rounds_cpu) $cpu else $rounds_cpu" | bc -l)
done

r_times=$(Rscript "$here/glm.R" "$data" "$work/r.csv")
r_read=$(awk '/^r_read_seconds/ {print $2}' <<<"$r_times")
r_glm=$(awk '/^r_glm_seconds/ {print $2}' <<<"$r_times")
r_glm_cpu=$(awk '/^r_glm_cpu_seconds/ {print $2}' <<<"$r_times")

# Largest relative difference of estimates and standard errors, term by term.
agreement=$(awk -F, '
  FNR == 1 { next }
  FILENAME == ARGV[1] { est[$1] = $2; se[$1] = $3; next }
  $1 == "coefficient" && ($2 in est) {
    matched++
    d = ($3 - est[$2]) / est[$2]; if (d < 0) d = -d; if (d > max_est) max_est = d
    d = ($4 - se[$2]) / se[$2];   if (d < 0) d = -d; if (d > max_se) max_se = d
  }
  END { printf "terms %d, max relative difference: estimate %.2e, se %.2e", matched, max_est, max_se }
' "$work/r.csv" "$work/rounds.csv")

printf 'rows                         %s (20 covariates: 18 numeric, 2 categorical)\n' "$rows"
printf 'rounds riskadj (read + fit)  %.2f s wall, %.2f s CPU (best of 3)\n' "$rounds_seconds" "$rounds_cpu"
printf 'R read.csv                   %.2f s\n' "$r_read"
printf 'R glm (fit only)             %.2f s wall, %.2f s CPU\n' "$r_glm" "$r_glm_cpu"
printf 'ratio R glm / rounds         %.1fx\n' "$(echo "$r_glm / $rounds_seconds" | bc -l)"
printf 'ratio of CPU, R glm / rounds %.1fx\n' "$(echo "$r_glm_cpu / $rounds_cpu" | bc -l)"
printf 'ratio R read+glm / rounds    %.1fx\n' "$(echo "($r_read + $r_glm) / $rounds_seconds" | bc -l)"
printf 'load average (1, 5, 15 min)  %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'coefficients                 %s (R terms: %s)\n' "$agreement" "$(($(wc -l <"$work/r.csv") - 1))"
