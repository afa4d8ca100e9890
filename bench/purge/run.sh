#!/usr/bin/env bash
# Benchmarks the orphan purge (`vitrine purge`) on a store of BENCH_OBJECTS objects, 1% of
# them orphans: BENCH_ROUNDS rounds (default 3), each writing the orphans anew and timing one
# real purge, plus one dry run first. Reports wall time and peak RSS (GNU time's maximum
# resident set size) of each run and their medians, and checks that each real run deleted
# exactly the orphans and that every referenced object is still there.
#
# BENCH_STORE=local (default): a local store of 1,000,000 objects by default, 72 h old, purged
#   with the default 48 h grace. Target: 1M objects in <= 60 s with <= 100 MiB RSS.
# BENCH_STORE=s3: a bucket of 100,000 objects by default on a versitygw started here (posix
#   backend in the temporary directory), purged with -grace 0s since S3 objects cannot be
#   back-dated.
#
# Server: BENCH_DATABASE_URL (a superuser URL to an admin database) when set, else
# postgres://postgres@127.0.0.1:5432/postgres. A database vitrine_bench_purge_<random> and a
# temporary data directory are created and removed at exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
store=${BENCH_STORE:-local}
case "$store" in local) n=${BENCH_OBJECTS:-1000000} ;; s3) n=${BENCH_OBJECTS:-100000} ;; *) echo "BENCH_STORE must be local or s3" >&2; exit 2 ;; esac
rounds=${BENCH_ROUNDS:-3}
admin_url=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
case "$n" in '' | *[!0-9]* | 0) echo "BENCH_OBJECTS must be a positive integer" >&2; exit 2 ;; esac
[ -x /usr/bin/time ] || { echo "/usr/bin/time is missing (apt-get install time)" >&2; exit 2; }

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/vitrine-bench-purge.XXXXXX")
db="vitrine_bench_purge_$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
gw_pid=''
cleanup() {
  [ -n "$gw_pid" ] && kill "$gw_pid" 2>/dev/null && wait "$gw_pid" 2>/dev/null || true
  psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

owner_url=$(python3 - "$admin_url" "$db" <<'PY'
import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))
PY
)
app_url=$(python3 - "$owner_url" <<'PY'
import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1]); host = p.netloc.split("@")[-1]
print(u.urlunsplit(p._replace(netloc="vitrine_app@" + host)))
PY
)

log "building"
(cd "$repo" && go build -o "$work/vitrine" ./cmd/vitrine && go build -o "$work/seedobjects" ./bench/purge/seedobjects)
psql -q "$admin_url" -c "CREATE DATABASE $db" >/dev/null
export DATABASE_URL="$app_url" VITRINE_MIGRATE_DATABASE_URL="$owner_url" VITRINE_DATA_DIR="$work/var" VITRINE_LOG_LEVEL=warn
"$work/vitrine" migrate up >/dev/null

purge_args=()
seed_args=(-dir "$work/var/objects")
if [ "$store" = s3 ]; then
  gw=${VITRINE_VERSITYGW:-$(command -v versitygw || echo "$(go env GOPATH | cut -d: -f1)/bin/versitygw")}
  [ -x "$gw" ] || { echo "versitygw is missing: make deps installs it" >&2; exit 2; }
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$work/gw"
  export AWS_ACCESS_KEY_ID=benchaccess AWS_SECRET_ACCESS_KEY=benchsecret0123456789
  "$gw" --port "127.0.0.1:$port" --access "$AWS_ACCESS_KEY_ID" --secret "$AWS_SECRET_ACCESS_KEY" --region us-east-1 --quiet posix "$work/gw" &
  gw_pid=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
  export VITRINE_STORAGE=s3 VITRINE_S3_ENDPOINT="http://127.0.0.1:$port" VITRINE_S3_BUCKET=bench VITRINE_S3_PATH_STYLE=true
  seed_args=(-s3-endpoint "$VITRINE_S3_ENDPOINT" -bucket bench)
  purge_args=(-grace 0s)
fi

log "seeding $n objects ($store) and $((n - (n + 99) / 100)) rows"
start=$(date +%s)
"$work/seedobjects" "${seed_args[@]}" -n "$n" &
seed=$!
psql -q -v ON_ERROR_STOP=1 "$owner_url" <<SQL
INSERT INTO products (id, supplier_id)
SELECT md5(p::text)::uuid, '00000000-0000-4000-8000-000000000001' FROM generate_series(0, ($n - 1) / 100) AS p;
INSERT INTO product_images (product_id, image_url, storage_path, image_order)
SELECT md5((i / 100)::text)::uuid, 'https://example.com/' || h, 'originals/' || substr(h, 1, 2) || '/' || h || '.jpg', i % 100
FROM (SELECT i, encode(sha256(i::text::bytea), 'hex') AS h FROM generate_series(0, $n - 1) AS i WHERE i % 100 <> 0) AS s;
VACUUM ANALYZE product_images;
SQL
wait "$seed"
log "seeded in $(( $(date +%s) - start )) s"
sync

orphans=$(( (n + 99) / 100 ))
run_purge() { # label, args...: prints "label seconds maxrss_kib deleted"
  local label=$1; shift
  local out="$work/out.txt" tm="$work/time.txt"
  /usr/bin/time -f '%e %M' -o "$tm" "$work/vitrine" purge "${purge_args[@]}" "$@" >"$out"
  local deleted
  deleted=$(awk '/^  (deleted|would delete)/ {for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) {print $i; exit}}' "$out")
  read -r secs rss <"$tm"
  echo "$label $secs $rss $deleted"
  if [ "$deleted" != "$orphans" ]; then
    cat "$out" >&2
    echo "FAIL: $label deleted $deleted objects, want the $orphans orphans" >&2
    exit 1
  fi
}

results="$work/results.txt"
run_purge dry-run -dry-run | tee -a "$results"
for r in $(seq 1 "$rounds"); do
  [ "$r" -gt 1 ] && "$work/seedobjects" "${seed_args[@]}" -n "$n" -only-orphans
  sync
  run_purge "purge-$r" | tee -a "$results"
done
if [ "$store" = s3 ]; then
  left=$(find "$work/gw/bench/originals" -type f | wc -l)
else
  left=$(find "$work/var/objects" -type f | wc -l)
fi
if [ "$left" != "$((n - orphans))" ]; then
  echo "FAIL: $left objects left, want the $((n - orphans)) referenced ones" >&2
  exit 1
fi

echo
echo "store: $store, objects: $n ($orphans orphans), rounds: $rounds; $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
awk '$1 ~ /^purge-/ {print $2, $3}' "$results" | sort -n | awk '{t[NR]=$1} END {print "median purge time:", t[int((NR+1)/2)], "s (target <= 60)"}'
awk '$1 ~ /^purge-/ {print $3}' "$results" | sort -n | awk '{m[NR]=$1} END {printf "median peak RSS: %.1f MiB (target <= 100)\n", m[int((NR+1)/2)]/1024}'
