#!/usr/bin/env bash
# Installs what Vitrine needs on a Debian or Ubuntu machine and is missing: the PostgreSQL
# server binaries (Vitrine runs a private cluster from them when no DATABASE_URL is set),
# libvips with its headers (thumbnails, through cgo) and the Go modules. With --test it also
# installs what only the tests and benchmarks use: pgbench, the package lists that the tests'
# `apt-get download` of real photographs needs, Chromium (a test renders the API reference page
# in it), libheif's heif-enc and heif-convert (HEIC and AVIF test files), and versitygw (the real S3 server the tests of the S3 storage run against). Safe to
# run again: it installs nothing that is already there.
set -euo pipefail

testing=false
[ "${1:-}" = --test ] && testing=true

sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
$testing && ! command -v pgbench >/dev/null 2>&1 && missing+=(postgresql-contrib)
# The test of the API reference page renders it in headless Chromium.
$testing && ! command -v chromium >/dev/null 2>&1 && missing+=(chromium)
# The HEIF tests encode HEIC and AVIF photographs with heif-enc and decode them with heif-convert.
$testing && ! command -v heif-enc >/dev/null 2>&1 && missing+=(libheif-examples)
pkg-config --exists vips 2>/dev/null || missing+=(libvips-dev)
pkg-config --exists libheif 2>/dev/null || missing+=(libheif-dev) # imaging reads a HEIF's nclx colour box with libheif
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v gcc >/dev/null 2>&1 || missing+=(gcc)

# The tests fetch real photographs with `apt-get download`, which needs package lists.
if $testing && [ ${#missing[@]} -eq 0 ] && ! apt-cache show mate-backgrounds >/dev/null 2>&1; then
  sudo_ apt-get update -qq
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo_ apt-get update -qq
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v go >/dev/null 2>&1; then
  echo "Go is missing: install Go 1.26 or newer from https://go.dev/dl/" >&2
  exit 1
fi
go mod download
$testing || exit 0

# versitygw, built from source by `go install` into GOBIN (default: the first GOPATH's bin),
# unless that exact version is there already. scripts/test.sh points the tests at it.
versitygw_version=v1.8.0
gobin=$(go env GOBIN)
[ -n "$gobin" ] || gobin="$(go env GOPATH | cut -d: -f1)/bin"
if ! go version -m "$gobin/versitygw" 2>/dev/null |
  grep -Eq "^[[:space:]]*mod[[:space:]]+github.com/versity/versitygw[[:space:]]+${versitygw_version}([[:space:]]|\$)"; then
  echo "installing versitygw $versitygw_version into $gobin"
  go install "github.com/versity/versitygw/cmd/versitygw@${versitygw_version}"
fi
