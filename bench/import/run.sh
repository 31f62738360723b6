#!/usr/bin/env bash
# Import benchmark: a large FHIR bulk export into SQLite and PostgreSQL, against the parse-only
# floor of the same files. Prints resources/s and the ratio to parse-only for each.
#
#   bench/import/run.sh [PATIENTS]            (default 100000 patients, about 1.03 million resources)
#   ROUNDS_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres bench/import/run.sh
#
# ROUNDS_BENCH_ROUNDS (default 3) rounds are run, each one parse-only run and one first import
# into each database (interleaved, so that a busy moment of a shared machine falls on all of
# them); the medians are reported. The last round also imports the files a second time, which
# must change nothing. Uses `rounds demo` output when ROUNDS_BENCH_FHIR names a folder of NDJSON;
# otherwise writes its own with generate.py. ROUNDS_BENCH_RECORDS_IN_MEMORY sets the imports'
# --records-in-memory (to measure an import larger than its memory budget).
set -euo pipefail
cd "$(dirname "$0")/../.."
patients=${1:-100000}
rounds_n=${ROUNDS_BENCH_ROUNDS:-3}
work=${ROUNDS_BENCH_DIR:-$(mktemp -d /tmp/rounds-import-bench.XXXXXX)}
mkdir -p "$work"
data=${ROUNDS_BENCH_FHIR:-$work/fhir}
cargo build --release -p rounds >/dev/null
rounds=${CARGO_TARGET_DIR:-target}/release/rounds
if [ -z "${ROUNDS_BENCH_FHIR:-}" ] && [ ! -d "$data" ]; then
  python3 bench/import/generate.py --patients "$patients" --out "$data"
fi
echo "files: $(du -sh "$data" | cut -f1) in $data"

rate() { grep -Eo '\(([0-9]+) resources/s\)' "$1" | grep -Eo '[0-9]+' | tail -1; }
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

import_once() {
  local name=$1 round=$2; shift 2
  /usr/bin/time -f "%e s elapsed, %M KB max resident" "$rounds" import fhir "$data" "$@" \
    --records-in-memory "${ROUNDS_BENCH_RECORDS_IN_MEMORY:-2000000}" \
    >"$work/$name.$round.txt" 2>&1
  echo "  $name: $(rate "$work/$name.$round.txt") resources/s, $(tail -1 "$work/$name.$round.txt")"
}

for round in $(seq 1 "$rounds_n"); do
  echo "== round $round"
  "$rounds" import fhir --parse-only "$data" >"$work/parse.$round.txt"
  echo "  parse only: $(rate "$work/parse.$round.txt") resources/s"
  rm -rf "$work/sqlite"
  import_once sqlite "$round" --data-dir "$work/sqlite"
  if [ -n "${ROUNDS_BENCH_POSTGRES_URL:-}" ]; then
    db=rounds_bench_$$
    psql "$ROUNDS_BENCH_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
    url=${ROUNDS_BENCH_POSTGRES_URL%/*}/$db
    import_once postgres "$round" --database-url "$url"
    if [ "$round" = "$rounds_n" ]; then
      echo "  postgres again (nothing changes): $("$rounds" import fhir "$data" --database-url "$url" | tail -1)"
    fi
    psql "$ROUNDS_BENCH_POSTGRES_URL" -qc "DROP DATABASE $db WITH (FORCE)" >/dev/null
  fi
done
echo "  sqlite again (nothing changes): $("$rounds" import fhir "$data" --data-dir "$work/sqlite" | tail -1)"

parse=$(for f in "$work"/parse.*.txt; do rate "$f"; done | median)
echo "== medians of $rounds_n rounds"
echo "parse only: $parse resources/s"
for name in sqlite postgres; do
  ls "$work/$name".*.txt >/dev/null 2>&1 || continue
  r=$(for f in "$work/$name".*.txt; do rate "$f"; done | median)
  echo "$name: $r resources/s = $(python3 -c "print(f'{$r/$parse:.2f}')") of parse-only"
done
