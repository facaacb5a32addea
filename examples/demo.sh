#!/usr/bin/env bash
# The main job on the embedded defaults: build meltano, copy the demo project (examples/demo) to a
# fresh directory, install its loader from PyPI, and run the pipeline twice: the second run,
# after new orders arrive, extracts only those, from the state the first run left.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
meltano="$repo/target/release/meltano"
work=$(mktemp -d "${TMPDIR:-/tmp}/meltano-demo.XXXXXX")
cp -r "$repo/examples/demo" "$work/demo"
cd "$work/demo"
mkdir -p output
export MELTANO_SEND_ANONYMOUS_USAGE_STATS=false

"$meltano" install
echo "== first run: every order"
"$meltano" run orders-to-jsonl
"$meltano" state get dev:tap-orders-to-target-jsonl

echo "== new orders arrive; second run: only those"
cat data/orders-later.csv >> data/orders.csv
"$meltano" run tap-orders target-jsonl
"$meltano" state get dev:tap-orders-to-target-jsonl

echo "== what the loader wrote"
for f in output/*.jsonl; do echo "$f"; cat "$f"; done
"$meltano" logs list
echo "The project is in $work/demo"
