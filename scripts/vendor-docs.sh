#!/usr/bin/env bash
# Vendors the API reference page's renderer: Redoc's standalone bundle from the npm package
# redoc at a pinned version, checked against its recorded SHA-256, into httpapi/docsui, from
# where the binary embeds it and serves it at /docs/redoc.standalone.js. Nothing is loaded
# from a CDN at run time.
#
#   scripts/vendor-docs.sh           fetch the pinned version with `npm pack`, check it, and
#                                    write it (and its licences) into httpapi/docsui
#   scripts/vendor-docs.sh --check   only check the committed bundle against the checksum
#   scripts/vendor-docs.sh --update  after changing version: record the new bundle's checksum
#
# The bundle is committed, so building needs neither npm nor the network; TestDocsBundle
# checks the embedded bundle against the checksum recorded here.
set -euo pipefail

version=2.5.2
sha256=6beb5aea23b71d09122ee35de8f326e38aec050e774f3bfba1f34e5c36608986

cd "$(dirname "$0")/.."
dest=httpapi/docsui
file=$dest/redoc.standalone.js

check() {
  got=$(sha256sum "$1" | cut -d' ' -f1)
  if [ "$got" != "$sha256" ]; then
    echo "$1: SHA-256 $got, expected $sha256 (redoc $version)" >&2
    return 1
  fi
}

if [ "${1:-}" = --check ]; then
  check "$file"
  echo "$file: redoc $version, SHA-256 ok"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "redoc@$version" >/dev/null)
tar -xzf "$tmp/redoc-$version.tgz" -C "$tmp" package/bundles/redoc.standalone.js package/bundles/redoc.standalone.js.LICENSE.txt package/LICENSE
if [ "${1:-}" = --update ]; then
  sha256=$(sha256sum "$tmp/package/bundles/redoc.standalone.js" | cut -d' ' -f1)
  sed -i "s/^sha256=.*/sha256=$sha256/" "$0"
  echo "redoc $version: SHA-256 $sha256 recorded in $0"
fi
check "$tmp/package/bundles/redoc.standalone.js"
mkdir -p "$dest"
cp "$tmp/package/bundles/redoc.standalone.js" "$file"
cat "$tmp/package/LICENSE" "$tmp/package/bundles/redoc.standalone.js.LICENSE.txt" >"$dest/redoc.LICENSE.txt"
echo "$file: redoc $version, SHA-256 ok"
