#!/usr/bin/env bash
# Surveillance benchmark, one run on one seeded data set (make_data.R):
#   R farringtonFlexible (Farrington and Noufaily) vs `rounds surveil detect`, 100 series × 52 weeks;
#   Rounds alone, Noufaily on 10,000 series × 52 weeks;
#   EARS C1 and C3, R earsC vs Rounds, 1,000 series;
#   EpiEstim estimate_R vs `rounds surveil rt`, 100 series × 365 days.
# Checks that R and Rounds agree (largest relative threshold difference, alarm mismatches) and
# prints wall-clock seconds and ratios. Usage: bench/surveillance/run.sh
# (needs R with surveillance and EpiEstim; ROUNDS=path/to/rounds skips the release build;
# WORK=dir keeps the data between runs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${WORK:-${TMPDIR:-/tmp}/rounds-bench-surveillance}"
mkdir -p "$work"

if [[ -z "${ROUNDS:-}" ]]; then
  (cd "$here/../.." && cargo build --release -p rounds --quiet)
  ROUNDS="${CARGO_TARGET_DIR:-$here/../../target}/release/rounds"
fi
[[ -f "$work/weekly.csv" ]] || Rscript "$here/make_data.R" "$work" 2>/dev/null

# Wall-clock seconds of a command; its CPU seconds (user + system) go to $work/cpu-<n>.
cpu_log="$work/cpu.log"; : >"$cpu_log"
timed() {
  local start end TIMEFORMAT
  TIMEFORMAT="%U %S"
  start=$(date +%s.%N)
  { time "$@" 2>/dev/null; } 2>>"$cpu_log"
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}
cpu_of() { sed -n "${1}p" "$cpu_log" | awk '{printf "%.2f", $1 + $2}'; }

rounds_farrington=$(timed "$ROUNDS" surveil detect --method farrington --input "$work/weekly-100.csv" --output "$work/rounds-farrington.csv")
rounds_noufaily=$(timed "$ROUNDS" surveil detect --method noufaily --input "$work/weekly-100.csv" --output "$work/rounds-noufaily.csv")
rounds_noufaily_10k=$(timed "$ROUNDS" surveil detect --method noufaily --input "$work/weekly.csv" --output "$work/rounds-noufaily-10k.csv")
rounds_c1=$(timed "$ROUNDS" surveil detect --method ears-c1 --input "$work/weekly-1000.csv" --output "$work/rounds-ears-c1.csv")
rounds_c3=$(timed "$ROUNDS" surveil detect --method ears-c3 --input "$work/weekly-1000.csv" --output "$work/rounds-ears-c3.csv")
rounds_rt=$(timed "$ROUNDS" surveil rt --input "$work/daily-100.csv" --si-mean 4.8 --si-sd 2.3 --output "$work/rounds-rt.csv")

r_times=$(Rscript "$here/r_methods.R" "$work" "$work" 2>/dev/null)
r() { awk -v k="$1_seconds" '$1 == k {print $2}' <<<"$r_times"; }

# Agreement: R rows (series, period, threshold, alarm) against Rounds' (series, period, count,
# expected, threshold, alarm), matched on series and period.
agree() {
  awk -F, '
    FNR == 1 { next }
    FILENAME == ARGV[1] { t[$1 "," $2] = $3; a[$1 "," $2] = $4; next }
    ($1 "," $2) in t {
      k = $1 "," $2; n++
      rt = t[k]; ours = $5
      if (rt == "NA" || ours == "") { if (!(rt == "NA" && ours == "")) miss++ }
      else { d = (ours - rt) / (rt == 0 ? 1 : rt); if (d < 0) d = -d; if (d > max) max = d }
      ra = (a[k] == "TRUE") ? "true" : "false"; if (a[k] != "NA" && ra != $6) alarms++
    }
    END { printf "%d periods, max rel. threshold diff %.1e, threshold NA mismatches %d, alarm mismatches %d", n, max, miss, alarms }
  ' "$1" "$2"
}
agree_rt() {
  awk -F, '
    FNR == 1 { next }
    FILENAME == ARGV[1] { m[$1 "," $2] = $3; next }
    ($1 "," $2) in m && m[$1 "," $2] != "NA" {
      n++; d = ($4 - m[$1 "," $2]) / m[$1 "," $2]; if (d < 0) d = -d; if (d > max) max = d
    }
    END { printf "%d windows, max rel. mean diff %.1e", n, max }
  ' "$1" "$2"
}

ratio() { echo "$1 / $2" | bc -l; }
printf '%-44s %9s %9s %9s\n' "task" "R (s)" "Rounds" "R/Rounds"
row() { printf '%-44s %9.2f %9.3f %8.0fx\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }
row "Farrington, 100 series x 52 weeks" "$(r farrington)" "$rounds_farrington"
row "Noufaily, 100 series x 52 weeks" "$(r noufaily)" "$rounds_noufaily"
row "EARS C1, 1,000 series x 308 weeks" "$(r ears-c1)" "$rounds_c1"
row "EARS C3, 1,000 series x 304 weeks" "$(r ears-c3)" "$rounds_c3"
row "Rt (EpiEstim), 100 series x 365 days" "$(r rt)" "$rounds_rt"
printf '%-44s %9s %9.3f   (CPU %s s on %s cores)\n' "Noufaily, 10,000 series x 52 weeks" "-" \
  "$rounds_noufaily_10k" "$(cpu_of 3)" "$(nproc)"
echo
echo "agreement with R:"
echo "  farrington  $(agree "$work/r-farrington.csv" "$work/rounds-farrington.csv")"
echo "  noufaily    $(agree "$work/r-noufaily.csv" "$work/rounds-noufaily.csv")"
echo "  ears-c1     $(agree "$work/r-ears-c1.csv" "$work/rounds-ears-c1.csv")"
echo "  ears-c3     $(agree "$work/r-ears-c3.csv" "$work/rounds-ears-c3.csv")"
echo "  rt          $(agree_rt "$work/r-rt.csv" "$work/rounds-rt.csv")"
echo "cores: $(nproc); load before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
