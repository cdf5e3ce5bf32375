#!/usr/bin/env bash
# The README's "Use as a library" example, kept honest: extracts its ```swift block, builds it as
# the executable of a fresh package that depends on this one by path (product RepLK), runs it from
# the repository's root, and checks that it prints the classes `replk-seg infer` reports for the
# same image. Run by .ci/run after the tests; EXAMPLE_SCRATCH keeps the example's build folder
# between runs (default: a temporary one, removed).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
tmp="$(mktemp -d /tmp/replk-example.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/pkg/Sources/Example"
# The first ```swift block after the "## Use as a library" heading.
awk '/^## Use as a library/ {on = 1} on && /^```swift/ {code = 1; next} code && /^```/ {exit} code {print}' README.md \
    > "$tmp/pkg/Sources/Example/main.swift"
[ -s "$tmp/pkg/Sources/Example/main.swift" ] || { echo "example: no \`\`\`swift block under '## Use as a library' in README.md" >&2; exit 1; }
cat > "$tmp/pkg/Package.swift" <<PKG
// swift-tools-version:6.0
import PackageDescription
let package = Package(
    name: "Example",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "RepLK", path: "$root")],
    targets: [.executableTarget(name: "Example", dependencies: [.product(name: "RepLK", package: "RepLK")], path: "Sources/Example")]
)
PKG
scratch="${EXAMPLE_SCRATCH:-$tmp/build}"
start=$(date +%s)
swift build -c release --package-path "$tmp/pkg" --scratch-path "$scratch" 2>&1 | grep -E "error|warning: unre|Compiling Example|Build complete" || true
[ -x "$scratch/release/Example" ] || { echo "example: the README's library example did not build" >&2; exit 1; }
echo "example: built in $(( $(date +%s) - start )) s"
got="$("$scratch/release/Example")"
echo "$got"
# What replk-seg infer says of the same image: "[name share%, …]".
bin="$(swift build -c release --show-bin-path)"
image="Datasets/Demo/ADEChallengeData2016/images/validation/ADE_val_00000001.jpg"
line="$("$bin/replk-seg" infer --data ade20k --checkpoint Datasets/Demo/seg/upernet_replknet_shapes_ade.pth --scale 1024,256 \
        --out "$tmp/out" "$image" | grep -F "$image")"
want="$(echo "$line" | sed -E 's/.*\[(.*)\]$/\1/' | tr ',' '\n' | sed -E 's/^ +//' | head -3)"
[ "$got" = "$want" ] || { printf 'example: printed\n%s\nbut replk-seg infer says\n%s\n' "$got" "$want" >&2; exit 1; }
echo "example: passed (its classes equal replk-seg infer's)"
