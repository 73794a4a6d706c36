#!/bin/sh
# Refresh the fonts invoice PDFs embed: Noto Sans, Noto Sans Devanagari and Noto Sans Bengali,
# regular and bold, from the npm registry at pinned versions (the @expo-google-fonts packages ship
# the TTFs fpdf2 needs), with each family's licence (SIL Open Font License 1.1). Run from anywhere;
# needs npm. Change a version here, run it, and commit the fonts it writes.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for spec in noto-sans@0.4.2:NotoSans noto-sans-devanagari@0.4.1:NotoSansDevanagari noto-sans-bengali@0.4.4:NotoSansBengali; do
    pkg=${spec%%:*}
    name=${spec##*:}
    (cd "$tmp" && npm pack "@expo-google-fonts/$pkg" --silent >/dev/null)
    tar xzf "$tmp/expo-google-fonts-${pkg%@*}-${pkg#*@}.tgz" -C "$tmp"
    cp "$tmp/package/400Regular/${name}_400Regular.ttf" "$name-Regular.ttf"
    cp "$tmp/package/700Bold/${name}_700Bold.ttf" "$name-Bold.ttf"
    cp "$tmp/package/LICENSE_FONT" "$name-OFL.txt"
    rm -rf "$tmp/package"
done
echo "fonts refreshed in $(pwd)"
