#!/usr/bin/env bash
# Import benchmark: a large FHIR bulk export into SQLite and PostgreSQL, against the parse-only
# floor of the same files. Prints resources/s and the ratio for each.
#
#   bench/import/run.sh [PATIENTS]            (default 100000 patients, about 1.1 million resources)
#   ROUNDS_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres bench/import/run.sh
#
# Uses `rounds demo` output when ROUNDS_BENCH_FHIR names a folder of NDJSON; otherwise writes
# its own with generate.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
patients=${1:-100000}
work=${ROUNDS_BENCH_DIR:-$(mktemp -d /tmp/rounds-import-bench.XXXXXX)}
data=${ROUNDS_BENCH_FHIR:-$work/fhir}
cargo build --release -p rounds >/dev/null
rounds=${CARGO_TARGET_DIR:-target}/release/rounds
if [ -z "${ROUNDS_BENCH_FHIR:-}" ]; then
  python3 bench/import/generate.py --patients "$patients" --out "$data"
fi
echo "files: $(du -sh "$data" | cut -f1) in $data"

echo "== parse only"
"$rounds" import fhir --parse-only "$data" | tee "$work/parse.txt"
parse_rate=$(sed -E 's/.*\(([0-9]+) resources\/s\).*/\1/' "$work/parse.txt")

run() {
  local name=$1; shift
  echo "== $name"
  /usr/bin/time -f "%e s elapsed, %M KB max resident" "$rounds" import fhir "$data" "$@" | tee "$work/$name.txt"
  local rate
  rate=$(grep -Eo '\(([0-9]+) resources/s\)' "$work/$name.txt" | grep -Eo '[0-9]+')
  echo "$name: $rate resources/s = $(python3 -c "print(f'{$rate/$parse_rate:.2f}')") of parse-only"
  echo "== $name again (nothing changes)"
  "$rounds" import fhir "$data" "$@" | tail -2
}

run sqlite --data-dir "$work/sqlite"
if [ -n "${ROUNDS_BENCH_POSTGRES_URL:-}" ]; then
  db=rounds_bench_$$
  psql "$ROUNDS_BENCH_POSTGRES_URL" -qc "CREATE DATABASE $db" >/dev/null
  url=${ROUNDS_BENCH_POSTGRES_URL%/*}/$db
  run postgres --database-url "$url"
  psql "$ROUNDS_BENCH_POSTGRES_URL" -qc "DROP DATABASE $db WITH (FORCE)" >/dev/null
fi
