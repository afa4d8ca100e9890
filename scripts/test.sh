#!/usr/bin/env bash
# Runs Vitrine's whole test suite against real PostgreSQL: the server on 127.0.0.1:5432 when
# one answers there (or TEST_DATABASE_URL when set), otherwise a private cluster that each
# test binary starts from the machine's PostgreSQL binaries.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --test

# The S3 tests run the versitygw that install-deps.sh put in GOBIN, which PATH may lack.
gobin=$(go env GOBIN)
[ -n "$gobin" ] || gobin="$(go env GOPATH | cut -d: -f1)/bin"
export PATH="$gobin:$PATH"
export VITRINE_VERSITYGW="${VITRINE_VERSITYGW:-$gobin/versitygw}"

# VITRINE_TEST_PRIVATE_PG=1 ignores a server on 5432, as on a machine without one.
if [ -z "${TEST_DATABASE_URL:-}" ] && [ "${VITRINE_TEST_PRIVATE_PG:-}" != 1 ]; then
  url='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable'
  if psql "$url" -qAtc 'select 1' >/dev/null 2>&1; then
    export TEST_DATABASE_URL="$url"
    echo "tests use the PostgreSQL server on 127.0.0.1:5432"
  else
    echo "no PostgreSQL on 127.0.0.1:5432: each test binary starts a private cluster"
  fi
fi

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...
# cmd/vitrine runs real processes under load (the scale-out test) and real browsers: more than
# go test's default 10 minutes on a busy 2-CPU machine. Files the tests keep (the browser
# tests' screenshots, through t.ArtifactDir) go under test-output/, which git ignores.
mkdir -p test-output
go test -race -count=1 -timeout 30m -artifacts -outputdir "$PWD/test-output" ./...

# A short run of each fuzz target; the seed corpora already ran above as plain tests.
for target in $(grep -rhoE '^func (Fuzz[A-Za-z0-9_]+)' --include='*_test.go' . | sed 's/func //' | sort -u); do
  pkg=$(grep -rlE "^func ${target}\(" --include='*_test.go' . | head -n1 | xargs dirname)
  echo "fuzzing $target in $pkg"
  go test -run='^$' -fuzz="^${target}\$" -fuzztime="${FUZZTIME:-15s}" "$pkg"
done
