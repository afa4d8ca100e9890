#!/usr/bin/env bash
# Benchmarks `vitrine migrate adopt` on a generated legacy database (postgres/pgtest/legacy.sql)
# of BENCH_IMAGES images (default 1,000,000), BENCH_RUNS times (default 3), while 4 writers
# append images through the gallery's write path from the moment Vitrine may serve. Reports,
# per run: total time, how long the maintenance flag was set (flag-s), the longest time a
# writer saw its writes refused (refused-s, the target is <= 5 s), the slowest successful
# write, and each step's time; then the medians.
#
# Server: TEST_DATABASE_URL when set, else the server on 127.0.0.1:5432 when it answers, else
# a private cluster (as the tests do). Databases are created and dropped by postgres/pgtest.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
images=${BENCH_IMAGES:-1000000}
runs=${BENCH_RUNS:-3}
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  url='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable'
  if psql "$url" -qAtc 'select 1' >/dev/null 2>&1; then export TEST_DATABASE_URL="$url"; fi
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
cd "$repo"
ADOPT_BENCH_IMAGES=$images go test -run '^$' -bench '^BenchmarkAdopt$' -benchtime 1x -count "$runs" -timeout 2h ./postgres/adopt/ | tee "$out"
echo
echo "medians over $runs run(s) of $images images:"
awk '/^BenchmarkAdopt/ { for (i = 3; i < NF; i += 2) v[$(i+1)] = v[$(i+1)] " " $i }
     END { for (k in v) { n = split(substr(v[k], 2), a, " "); asort(a); printf "  %-16s %s\n", k, a[int((n + 1) / 2)] } }' "$out" | sort
