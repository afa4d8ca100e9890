#!/usr/bin/env bash
# Benchmarks insert_image_with_order against the cheapest insert of the same row shape.
#
# Four pgbench measurements, interleaved in BENCH_ROUNDS rounds of BENCH_SECONDS each:
#   plain32   plain INSERT into product_images_plain, 32 clients   (plain.sql)
#   spread32  insert_image_with_order over 1,000 products, 32 clients (spread.sql)
#   hot32     insert_image_with_order on one product, 32 clients   (hot.sql)
#   plain1    plain INSERT, 1 client                               (plain.sql)
# Targets (reported as PASS/FAIL, never fatal): median spread32 >= 0.85 x median plain32 and
# median hot32 >= 0.90 x median plain1. After every round the image orders of every product
# must be exactly 0..n-1; if they are not, the script exits non-zero.
#
# Server: BENCH_DATABASE_URL (a superuser URL to an admin database) when set; else the server
# on 127.0.0.1:5432 when it answers; else (or with BENCH_FORCE_PRIVATE=1) a throwaway cluster
# in a temporary directory. The benchmark database vitrine_bench_<random> is created, migrated
# with bin/vitrine migrate up and dropped at exit. See README.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

seconds=${BENCH_SECONDS:-15}
rounds=${BENCH_ROUNDS:-3}
clients=32
supplier='00000000-0000-4000-8000-5a9911e70001' # owns every benchmark product
spread_target=0.85
hot_target=0.90

case "$seconds" in '' | *[!0-9]* | 0) echo "BENCH_SECONDS must be a positive integer" >&2; exit 2 ;; esac
case "$rounds" in '' | *[!0-9]* | 0) echo "BENCH_ROUNDS must be a positive integer" >&2; exit 2 ;; esac
for tool in psql pgbench go awk; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is missing (make deps installs psql and pgbench)" >&2; exit 2; }
done

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---- cleanup: drop the benchmark database, stop the private cluster, remove temp dirs ----
work=$(mktemp -d "${TMPDIR:-/tmp}/vitrine-bench.XXXXXX")
admin_url=''
bench_db=''
pg_dir=''   # private cluster directory, when we started one
pg_bin=''
as_pg=()    # prefix that runs a command as the cluster's owner (runuser when root)

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  if [ -n "$bench_db" ] && [ -n "$admin_url" ]; then
    psql "$admin_url" -qX -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS \"$bench_db\" WITH (FORCE)" >/dev/null 2>&1 \
      && log "dropped database $bench_db" || log "could not drop database $bench_db"
  fi
  if [ -n "$pg_dir" ]; then
    if [ -f "$pg_dir/data/postmaster.pid" ]; then
      "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 \
        && log "stopped private cluster" || log "could not stop private cluster in $pg_dir"
    fi
    rm -rf "$pg_dir"
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# url_with_db URL DB: URL with its database (the path) replaced by DB; the query is kept.
url_with_db() {
  local url=$1 db=$2 base query scheme rest
  base=${url%%\?*}
  query=${url#"$base"}
  scheme=${base%%://*}
  rest=${base#*://}
  printf '%s://%s/%s%s' "$scheme" "${rest%%/*}" "$db" "$query"
}

# ---- the server --------------------------------------------------------------------------
start_private_cluster() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r) "$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")"; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then pg_bin=$d; break; fi
  done
  [ -n "$pg_bin" ] || { echo "no PostgreSQL server binaries (initdb, pg_ctl) found: run make deps" >&2; exit 2; }
  pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/vitrine-bench-pg.XXXXXX")
  if [ "$(id -u)" -eq 0 ]; then
    # initdb and postgres refuse to run as root: the cluster belongs to the postgres user.
    id postgres >/dev/null 2>&1 || { echo "running as root needs an OS user postgres for the private cluster" >&2; exit 2; }
    chown postgres: "$pg_dir"
    chmod 700 "$pg_dir"
    as_pg=(runuser -u postgres --)
    # The postgres user must be able to reach the directory through its parents.
    "${as_pg[@]}" test -x "$pg_dir" || { echo "user postgres cannot reach $pg_dir: set TMPDIR to a directory it can traverse" >&2; exit 2; }
  else
    as_pg=(env)
  fi
  log "starting a private cluster ($pg_bin) in $pg_dir"
  "${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust --encoding=UTF8 \
    --locale=C.UTF-8 --no-sync >"$work/initdb.log" 2>&1 || { cat "$work/initdb.log" >&2; exit 2; }
  # setsid: a Ctrl-C on the terminal must not reach the server; the EXIT trap stops it.
  "${as_pg[@]}" setsid -w "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 \
    -o "-c listen_addresses='' -c unix_socket_directories='$pg_dir' -c port=5432 -c max_connections=100" \
    start >"$work/pg_ctl.log" 2>&1 || { cat "$work/pg_ctl.log" "$pg_dir/server.log" >&2; exit 2; }
  admin_url="postgres:///postgres?host=${pg_dir//\//%2F}&port=5432&user=postgres&sslmode=disable"
  server_desc="private throwaway cluster (unix socket in $pg_dir)"
}

local_url='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable'
if [ -n "${BENCH_DATABASE_URL:-}" ]; then
  admin_url=$BENCH_DATABASE_URL
  server_desc='BENCH_DATABASE_URL'
elif [ -z "${BENCH_FORCE_PRIVATE:-}" ] && psql "$local_url" -qAtX -c 'select 1' >/dev/null 2>&1; then
  admin_url=$local_url
  server_desc='server on 127.0.0.1:5432'
else
  start_private_cluster
fi
psql "$admin_url" -qAtX -c 'select 1' >/dev/null || { echo "cannot connect to the admin database" >&2; exit 2; }

# ---- the benchmark database ----------------------------------------------------------------
if [ -n "${BENCH_VITRINE_BIN:-}" ]; then
  vitrine=$BENCH_VITRINE_BIN # a prebuilt binary whose migrations to benchmark
  log "using $vitrine (BENCH_VITRINE_BIN)"
else
  log "building bin/vitrine"
  (cd "$repo" && go build -o bin/vitrine ./cmd/vitrine)
  vitrine=$repo/bin/vitrine
fi

bench_db="vitrine_bench_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
psql "$admin_url" -qX -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$bench_db\"" >/dev/null
db_url=$(url_with_db "$admin_url" "$bench_db")
log "created database $bench_db; migrating"
DATABASE_URL=$db_url "$vitrine" migrate up >"$work/migrate.log" 2>&1 || { cat "$work/migrate.log" >&2; exit 2; }
psql "$db_url" -qX -v ON_ERROR_STOP=1 -v supplier="$supplier" -f "$here/setup.sql" >/dev/null

q() { psql "$db_url" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }

# The plain table must really be the same shape minus FK and triggers (the deferrable unique
# constraint's own internal recheck trigger is copied with it, as it should be).
expect() { [ "$1" = "$2" ] || { echo "setup check failed: $3 (got $1, want $2)" >&2; exit 2; }; }
expect "$(q "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'product_images_plain'::regclass AND NOT tgisinternal")" 0 \
  'product_images_plain has no trigger'
expect "$(q "SELECT count(*) FROM pg_constraint WHERE conrelid = 'product_images_plain'::regclass AND contype = 'f'")" 0 \
  'product_images_plain has no foreign key'
expect "$(q "SELECT count(*) FROM pg_index WHERE indrelid = 'product_images_plain'::regclass")" \
  "$(q "SELECT count(*) FROM pg_index WHERE indrelid = 'product_images'::regclass")" \
  'product_images_plain has the indexes of product_images'
expect "$(q "SELECT count(*) FROM pg_constraint WHERE conrelid = 'product_images_plain'::regclass AND contype = 'u' AND condeferrable")" 1 \
  'product_images_plain has the deferrable unique (product_id, image_order)'

# Spread must really spread: the 1,000 products must take 1,000 different advisory locks.
if [ "$(q "SELECT to_regprocedure('vitrine_product_lock_key(uuid)') IS NOT NULL")" = t ]; then
  keys=$(q "SELECT count(DISTINCT vitrine_product_lock_key(id)) FROM products")
  [ "$keys" = 1000 ] || { echo "the 1,000 benchmark products map to $keys advisory lock key(s), not 1,000" >&2; exit 2; }
fi

# ---- what we run on ----------------------------------------------------------------------
setting() { q "SELECT current_setting('$1')"; }
cpu_model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
[ -n "$cpu_model" ] || cpu_model=$(lscpu 2>/dev/null | awk -F': *' '/^Model name/ {print $2; exit}')
mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null || echo unknown)
env_md="$work/env.md"
{
  echo "- server: $server_desc, database $bench_db, schema by $vitrine migrate up: $(q "SELECT string_agg(version_id::text, ',' ORDER BY version_id) FROM goose_db_version WHERE version_id > 0" 2>/dev/null || echo '?')"
  echo "- version: $(q 'SELECT version()')"
  echo "- fsync=$(setting fsync), synchronous_commit=$(setting synchronous_commit), wal_sync_method=$(setting wal_sync_method), full_page_writes=$(setting full_page_writes), commit_delay=$(setting commit_delay), max_connections=$(setting max_connections), shared_buffers=$(setting shared_buffers)"
  echo "- machine (of this script; the server's too unless BENCH_DATABASE_URL points elsewhere): $(nproc) CPUs, ${cpu_model:-unknown CPU}, $mem RAM, $(uname -sr)"
  echo "- pgbench: $(pgbench --version), -n -M prepared -T $seconds -j <=2, $rounds round(s)"
} >"$env_md"
cat "$env_md" >&2

# ---- measurements ------------------------------------------------------------------------
# wal_stats prints "syncs|sync_ms" from pg_stat_wal (cluster-wide; PostgreSQL 14+), or "|".
wal_stats() { q 'SELECT wal_sync, wal_sync_time FROM pg_stat_wal' 2>/dev/null || echo '|'; }

# measure NAME SCRIPT CLIENTS: runs pgbench and sets tps and processed; adds a diagnostics row.
measure() {
  local name=$1 script=$2 c=$3 j=2 out load lat s0 t0 s1 t1 per_txn avg_sync
  [ "$c" -ge 2 ] || j=1
  out="$work/$name.r$round.log"
  q 'CHECKPOINT' >/dev/null # so that no checkpoint lands inside one measurement only
  load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')
  IFS='|' read -r s0 t0 <<<"$(wal_stats)"
  # track_wal_io_timing (superuser) times the WAL flushes that the benchmark's backends do.
  if ! PGOPTIONS="${PGOPTIONS:-} -c track_wal_io_timing=on" \
      pgbench -n -M prepared -T "$seconds" -c "$c" -j "$j" -D supplier="$supplier" \
      -f "$here/$script" "$db_url" >"$out" 2>&1; then
    cat "$out" >&2
    echo "pgbench $name failed (round $round)" >&2
    exit 1
  fi
  IFS='|' read -r s1 t1 <<<"$(wal_stats)"
  tps=$(sed -n -e 's/^tps = \([0-9.]*\) (without initial connection time).*/\1/p' \
               -e 's/^tps = \([0-9.]*\) (excluding connections establishing).*/\1/p' "$out" | head -n1)
  processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out" | head -n1)
  lat=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' "$out" | head -n1)
  [ -n "$tps" ] && [ -n "$processed" ] || { cat "$out" >&2; echo "cannot parse pgbench output" >&2; exit 1; }
  per_txn=$(awk -v a="$s0" -v b="$s1" -v n="$processed" 'BEGIN { if (a != "" && b != "" && n > 0) printf "%.2f", (b - a) / n; else print "n/a" }')
  avg_sync=$(awk -v a="$s0" -v b="$s1" -v x="$t0" -v y="$t1" 'BEGIN { if (a != "" && b > a) printf "%.3f", (y - x) / (b - a); else print "n/a" }')
  log "round $round $name: $(printf '%.1f' "$tps") tps, $processed transactions, latency ${lat:-?} ms, WAL syncs/txn $per_txn, avg WAL sync $avg_sync ms, load $load"
  printf '| %s | %s | %s | %.1f | %s | %s | %s | %s |\n' "$round" "$name" "$c" "$tps" "${lat:-?}" "$per_txn" "$avg_sync" "$load" >>"$diag_md"
}

names=(plain32 spread32 hot32 plain1)
declare -A res=()
violations=0
rows_md="$work/rows.md"
diag_md="$work/diag.md"
: >"$rows_md"
: >"$diag_md"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }

for round in $(seq 1 "$rounds"); do
  q 'TRUNCATE product_images, product_images_plain' >/dev/null
  q "SELECT setval('plain_order_seq', 1, false)" >/dev/null
  declare -A done_=()
  measure plain32 plain.sql "$clients";   res[plain32,$round]=$tps
  measure spread32 spread.sql "$clients"; res[spread32,$round]=$tps; done_[spread]=$processed
  measure hot32 hot.sql "$clients";       res[hot32,$round]=$tps;    done_[hot]=$processed
  measure plain1 plain.sql 1;             res[plain1,$round]=$tps

  check=$(psql "$db_url" -qAtX -v ON_ERROR_STOP=1 -f "$here/check.sql")
  IFS='|' read -r bad products images <<<"$check"
  acked=$((done_[spread] + done_[hot]))
  if [ "$bad" -ne 0 ] || [ "$images" -lt "$acked" ]; then
    violations=$((violations + 1))
    inv="VIOLATED"
    echo "round $round: $bad of $products products break the 0..n-1 orders; $images images for $acked acknowledged inserts" >&2
    psql "$db_url" -X -v ON_ERROR_STOP=1 -c "
      SELECT product_id, count(*) AS n, min(image_order), max(image_order), count(DISTINCT image_order) AS distinct_orders
      FROM product_images GROUP BY product_id
      HAVING min(image_order) <> 0 OR max(image_order) <> count(*) - 1 OR count(DISTINCT image_order) <> count(*)
      ORDER BY product_id LIMIT 10" >&2
  else
    inv="ok ($products products, $images images)"
  fi
  log "round $round invariant: $inv (pgbench acknowledged $acked function calls)"
  printf '| %s | %.1f | %.1f | %.1f | %.1f | %s | %s | %s |\n' "$round" \
    "${res[plain32,$round]}" "${res[spread32,$round]}" "${res[hot32,$round]}" "${res[plain1,$round]}" \
    "$(ratio "${res[spread32,$round]}" "${res[plain32,$round]}")" \
    "$(ratio "${res[hot32,$round]}" "${res[plain1,$round]}")" "$inv" >>"$rows_md"
done

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
declare -A med=()
for n in "${names[@]}"; do
  vals=()
  for round in $(seq 1 "$rounds"); do vals+=("${res[$n,$round]}"); done
  med[$n]=$(median "${vals[@]}")
done
spread_ratio=$(ratio "${med[spread32]}" "${med[plain32]}")
hot_ratio=$(ratio "${med[hot32]}" "${med[plain1]}")

verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r >= t) ? "PASS" : "FAIL" }'; }
pass_lines=$(
  printf '%s spread_rate >= %s x plain_rate@32: %.1f / %.1f = %s\n' "$(verdict "$spread_ratio" "$spread_target")" \
    "$spread_target" "${med[spread32]}" "${med[plain32]}" "$spread_ratio"
  printf '%s hot_rate >= %s x plain_rate@1: %.1f / %.1f = %s\n' "$(verdict "$hot_ratio" "$hot_target")" \
    "$hot_target" "${med[hot32]}" "${med[plain1]}" "$hot_ratio"
  if [ "$violations" -eq 0 ]; then
    echo "PASS orders exactly 0..n-1 for every product after each of $rounds round(s)"
  else
    echo "FAIL orders exactly 0..n-1 for every product: violated in $violations of $rounds round(s)"
  fi
)

# Other work on the machine (load above its CPU count) makes serial paths such as hot32 slower.
max_load=$(awk -F'|' 'NF > 8 { l = $9 + 0; if (l > m) m = l } END { print m + 0 }' "$diag_md")
busy_note=''
if awk -v l="$max_load" -v n="$(nproc)" 'BEGIN { exit !(l > n) }'; then
  busy_note="Warning: the load average reached $max_load on $(nproc) CPUs during the run: other work competed with the benchmark, so these figures understate what the machine can do (see the load column)."
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
report="$work/report.md"
{
  echo "# insert_image_with_order benchmark, $stamp"
  echo
  cat "$env_md"
  echo
  echo "Transactions per second (pgbench tps without initial connection time); one statement per transaction."
  echo
  echo "| round | plain@32 | spread@32 | hot@32 | plain@1 | spread/plain@32 | hot/plain@1 | orders 0..n-1 |"
  echo "|---|---:|---:|---:|---:|---:|---:|---|"
  cat "$rows_md"
  printf '| **median** | **%.1f** | **%.1f** | **%.1f** | **%.1f** | **%s** | **%s** | |\n' \
    "${med[plain32]}" "${med[spread32]}" "${med[hot32]}" "${med[plain1]}" "$spread_ratio" "$hot_ratio"
  echo
  echo '```'
  echo "$pass_lines"
  echo '```'
  if [ -n "$busy_note" ]; then echo; echo "$busy_note"; fi
  echo
  echo "Diagnostics per measurement: pgbench's average latency; WAL flushes per transaction and their"
  echo "average time, from pg_stat_wal (cluster-wide, so other work on the server counts too; the time"
  echo "covers flushes done by the benchmark's own backends); the 1-minute load average before it."
  echo
  echo "| round | measurement | clients | tps | latency ms | WAL syncs/txn | avg WAL sync ms | load |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|"
  cat "$diag_md"
} >"$report"

mkdir -p "$repo/bench/out"
cp "$report" "$repo/bench/out/insert-$stamp.md"
echo
cat "$report"
echo
echo "report written to bench/out/insert-$stamp.md"

if [ "$violations" -ne 0 ]; then
  exit 1
fi
