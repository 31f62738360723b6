#!/usr/bin/env bash
# Platform benchmark, one run:
#  1. start-up on an empty database: from launching `rounds serve` to /readyz answering 200
#     (migrations and the first admin account included), best and median of 5;
#  2. the sign-in page and one authenticated API read (GET /api/v1/facilities with a bearer
#     token, 20 facilities) under 64 concurrent connections for 15 s each, with wrk
#     (Debian package `wrk`) on loopback: requests/s and p50/p99 latency.
# SQLite by default; set ROUNDS_BENCH_POSTGRES_URL=postgres://… (an empty database that may be
# dropped and recreated) to measure PostgreSQL as well.
# Usage: bench/platform/run.sh   (ROUNDS=path/to/rounds skips the release build)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
work="${WORK:-${TMPDIR:-/tmp}/rounds-bench-platform}"
rm -rf "$work" && mkdir -p "$work"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
if [[ -z "${ROUNDS:-}" ]]; then
  (cd "$root" && cargo build --release -p rounds --quiet)
  ROUNDS="${CARGO_TARGET_DIR:-$root/target}/release/rounds"
fi
port=18181
base="http://127.0.0.1:$port"
export RUST_LOG=warn ROUNDS_JOBS=0
# No server outlives the script, whatever stops it.
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT

wait_ready() { for _ in $(seq 1 2000); do curl -fs "$base/readyz" >/dev/null 2>&1 && return 0; sleep 0.005; done; return 1; }

startup() { # prints seconds from launch to ready on an empty database
  local dir="$work/startup-$1" start end
  start=$(date +%s.%N)
  "$ROUNDS" serve --data-dir "$dir" --bind "127.0.0.1:$port" "${@:2}" >/dev/null 2>&1 &
  local pid=$!
  wait_ready
  end=$(date +%s.%N)
  kill -TERM $pid; wait $pid || true
  echo "$end - $start" | bc -l
}

measure() { # label, database options…
  local label=$1; shift
  echo "== $label"
  local times=()
  for i in 1 2 3 4 5; do
    if [[ "$label" == postgres ]]; then
      PGOPTIONS='-c client_min_messages=warning' psql "$ROUNDS_BENCH_POSTGRES_URL" -qc 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;' >/dev/null
    fi
    times+=("$(startup "$label-$i" "$@")")
  done
  printf 'start-up to ready (s): %s\n' "$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "best %.3f, median %.3f", a[1], a[3]}')"

  local dir="$work/serve-$label"
  if [[ "$label" == postgres ]]; then
    PGOPTIONS='-c client_min_messages=warning' psql "$ROUNDS_BENCH_POSTGRES_URL" -qc 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;' >/dev/null
  fi
  "$ROUNDS" serve --data-dir "$dir" --bind "127.0.0.1:$port" "$@" >/dev/null 2>&1 &
  local pid=$!
  wait_ready
  echo "load-test passphrase 1" | "$ROUNDS" user add bench --role admin --password-stdin --data-dir "$dir" "$@" >/dev/null
  local token
  token=$("$ROUNDS" token create --user bench --data-dir "$dir" "$@" 2>/dev/null | tail -1)
  for i in $(seq 1 20); do
    curl -fs -o /dev/null -H "Authorization: Bearer $token" -H 'content-type: application/json' \
      -d "{\"name\": \"Hospital $i\", \"ccn\": \"39$(printf %04d "$i")\", \"city\": \"Harrisburg\", \"state\": \"PA\"}" "$base/api/v1/facilities"
  done
  echo "-- GET /signin, 64 connections"
  wrk -t2 -c64 -d15s --latency "$base/signin" | grep -E "Requests/sec|^ +50%|^ +99%|Non-2xx|Socket errors"
  echo "-- GET /api/v1/facilities with a bearer token, 64 connections"
  wrk -t2 -c64 -d15s --latency -H "Authorization: Bearer $token" "$base/api/v1/facilities" | grep -E "Requests/sec|^ +50%|^ +99%|Non-2xx|Socket errors"
  kill -TERM $pid; wait $pid || true
}

measure sqlite
if [[ -n "${ROUNDS_BENCH_POSTGRES_URL:-}" ]]; then
  measure postgres --database-url "$ROUNDS_BENCH_POSTGRES_URL"
fi
