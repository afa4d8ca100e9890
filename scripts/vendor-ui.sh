#!/usr/bin/env bash
# Vendors the front-end libraries of the gallery element and page from npm at pinned
# versions, each file checked against its recorded SHA-256: SortableJS (drag to reorder,
# touch included) and thumbhash (placeholders) into ui/static/vendor, served at /ui/vendor/;
# axe-core (accessibility checks, for the browser tests only) into ui/testdata/axe, which is
# never served. Nothing is loaded from a CDN at run time.
#
#   scripts/vendor-ui.sh           fetch the pinned versions with `npm pack`, check them, and
#                                  write them (and their licences) into place
#   scripts/vendor-ui.sh --check   only check the committed files against the checksums
#   scripts/vendor-ui.sh --update  after changing a version: record the new checksums
#
# The files are committed, so building needs neither npm nor the network; ui's
# TestVendoredFiles checks the embedded files against the checksums recorded here.
#
# @microsoft/fetch-event-source is not vendored: its ES build imports './fetch' and './parse'
# without file extensions, which a browser cannot load without a bundler; the element reads
# the event stream with a small parser of its own (ui/static/vitrine-gallery.js).
set -euo pipefail

# package version file-in-package destination sha256
files=(
  "sortablejs 1.15.7 modular/sortable.esm.js ui/static/vendor/sortable.esm.js a48a4ec931f04c50a1b80c095d0610dc2ec2014d001d4f083405f808fc9be251"
  "thumbhash 0.1.1 thumbhash.js ui/static/vendor/thumbhash.js 228a125e608e4955940cbe764e046386c9953226d2af66a5380266e18b78ffca"
  "axe-core 4.14.1 axe.min.js ui/testdata/axe/axe.min.js 29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
)

cd "$(dirname "$0")/.."
mode=${1:-}

check() { # file sha256 label
  got=$(sha256sum "$1" | cut -d' ' -f1)
  if [ "$got" != "$2" ]; then
    echo "$1: SHA-256 $got, expected $2 ($3)" >&2
    return 1
  fi
}

status=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for entry in "${files[@]}"; do
  read -r pkg version src dest sha256 <<<"$entry"
  if [ "$mode" = --check ]; then
    check "$dest" "$sha256" "$pkg $version" || status=1
    continue
  fi
  dir="$tmp/$pkg"
  mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "$pkg@$version" >/dev/null)
  tar -xzf "$dir"/*.tgz -C "$dir"
  if [ "$mode" = --update ]; then
    sha256=$(sha256sum "$dir/package/$src" | cut -d' ' -f1)
    sed -i "s|^\(  \"$pkg $version $src $dest \)[0-9a-f]*\"|\1$sha256\"|" "$0"
    echo "$pkg $version: SHA-256 $sha256 recorded in $0"
  fi
  check "$dir/package/$src" "$sha256" "$pkg $version"
  mkdir -p "$(dirname "$dest")"
  cp "$dir/package/$src" "$dest"
  licence="${dest%.js}"
  licence="${licence%.esm}"
  licence="${licence%.min}.LICENSE.txt"
  if [ -f "$dir/package/LICENSE" ]; then
    cp "$dir/package/LICENSE" "$licence"
    [ -f "$dir/package/LICENSE-3RD-PARTY.txt" ] && cat "$dir/package/LICENSE-3RD-PARTY.txt" >>"$licence"
  else
    # The package ships no licence text; its package.json names the licence.
    printf '%s %s: licence "%s" (from its package.json; the npm package ships no licence text).\nAuthor and source: %s\n' \
      "$pkg" "$version" "$(node -p "require('$dir/package/package.json').license")" \
      "$(node -p "require('$dir/package/package.json').repository.url")" >"$licence"
  fi
  echo "$dest: $pkg $version, SHA-256 ok"
done
[ "$mode" = --check ] && [ "$status" = 0 ] && echo "vendored front-end files: SHA-256 ok"
exit $status
