#!/usr/bin/env bash
# Page weight: the JavaScript and CSS the supplier's page loads (its own files and the
# vendored libraries they import), each gzipped with -9 and summed, against Uppy's dashboard
# bundle (the npm package uppy, its dist bundle's JavaScript and CSS), fetched with `npm pack`
# into a temporary folder at bench time (never committed).
#
#   bench/ui/weight.sh     prints each file's gzipped size and the two totals
set -euo pipefail
cd "$(dirname "$0")/../.."

uppy_version=6.0.1

# What / loads: the page's script and style sheet, the element and its style sheet, and the
# libraries the element imports. ui/testdata (axe-core) is never served.
page_files=(
  ui/static/app.js ui/static/app.css
  ui/static/vitrine-gallery.js ui/static/vitrine-gallery.css
  ui/static/vendor/sortable.esm.js ui/static/vendor/thumbhash.js
)

gz() { gzip -9 -c "$1" | wc -c; }

total=0
for f in "${page_files[@]}"; do
  n=$(gz "$f")
  total=$((total + n))
  printf '%8d  %s\n' "$n" "$f"
done
printf '%8d  Vitrine page total (gzip -9)\n\n' "$total"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "uppy@$uppy_version" >/dev/null)
tar -xzf "$tmp/uppy-$uppy_version.tgz" -C "$tmp"
uppy_js=$(ls "$tmp"/package/dist/uppy.min.js 2>/dev/null || true)
uppy_css=$(ls "$tmp"/package/dist/uppy.min.css 2>/dev/null || true)
if [ -z "$uppy_js" ] || [ -z "$uppy_css" ]; then
  echo "uppy $uppy_version: no dist/uppy.min.js and dist/uppy.min.css; its dist holds:" >&2
  ls "$tmp/package/dist" >&2
  exit 1
fi
utotal=0
for f in "$uppy_js" "$uppy_css"; do
  n=$(gz "$f")
  utotal=$((utotal + n))
  printf '%8d  uppy %s %s\n' "$n" "$uppy_version" "${f#"$tmp"/package/}"
done
printf '%8d  Uppy dashboard bundle total (gzip -9)\n\n' "$utotal"
awk -v a="$total" -v b="$utotal" 'BEGIN { printf "Vitrine page / Uppy bundle: %.1f%%\n", 100 * a / b }'
