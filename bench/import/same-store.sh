#!/usr/bin/env bash
# Checks, at scale, that an import larger than its memory budget leaves the store an import
# within it leaves: imports the same FHIR export into two fresh SQLite stores (the default
# --records-in-memory, and a small one, so the importer lets go of what it holds several times
# and reads outcomes back from the store), after the test value sets, and compares a digest of
# every encounter's outcomes, every condition's rank and every complication. Exit 1 if they
# differ.
#
#   bench/import/same-store.sh [FHIR_DIR] [RECORDS_IN_MEMORY]
#
# FHIR_DIR defaults to a 20,000-patient export written by generate.py; RECORDS_IN_MEMORY to
# 50000.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d /tmp/rounds-same-store.XXXXXX)
trap 'rm -rf "$work"' EXIT
data=${1:-}
budget=${2:-50000}
if [ -z "$data" ]; then
  data=$work/fhir
  python3 bench/import/generate.py --patients 20000 --out "$data"
fi
cargo build --release -p rounds >/dev/null
rounds=${CARGO_TARGET_DIR:-target}/release/rounds
value_sets=crates/clinical/tests/clinical/fixtures/value-sets.csv

digest() {
  python3 - "$1/rounds.db" <<'EOF'
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
h = hashlib.sha256()
counts = []
for sql in [
    "SELECT e.source_id, o.los_days, o.los_hours, o.in_hospital_death, o.readmission_index, "
    "o.readmitted_30, r.source_id, o.or_procedure, o.return_to_or_30, o.complications, "
    "o.principal_dx_system, o.principal_dx_code FROM encounter_outcomes o "
    "JOIN encounters e ON e.id = o.encounter_id "
    "LEFT JOIN encounters r ON r.id = o.readmission_encounter_id ORDER BY e.source_id",
    "SELECT source_id, rank FROM conditions ORDER BY source_id",
    "SELECT e.source_id, c.source_id, x.value_set FROM encounter_complications x "
    "JOIN encounters e ON e.id = x.encounter_id JOIN conditions c ON c.id = x.condition_id "
    "ORDER BY 1, 2, 3",
]:
    rows = db.execute(sql).fetchall()
    counts.append(len(rows))
    h.update(repr(rows).encode())
print(h.hexdigest()[:16], "rows:", counts)
EOF
}

for run in within beyond; do
  args=()
  [ "$run" = beyond ] && args=(--records-in-memory "$budget")
  "$rounds" import csv --kind value-sets "$value_sets" --data-dir "$work/$run" >/dev/null
  echo "$run the budget: $("$rounds" import fhir "$data" --data-dir "$work/$run" "${args[@]}" | tail -1)"
  digest "$work/$run" | tee "$work/$run.digest"
done
if cmp -s "$work/within.digest" "$work/beyond.digest"; then
  echo "same store"
else
  echo "the stores differ" >&2
  exit 1
fi
