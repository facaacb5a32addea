#!/usr/bin/env bash
# The main job on the embedded defaults: build meltano, create a project in a fresh directory,
# add a tap, a target and an inherited tap, and list them. Pipelines (`meltano run`) come next.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
meltano="$repo/target/release/meltano"
work=$(mktemp -d "${TMPDIR:-/tmp}/meltano-demo.XXXXXX")
cd "$work"

"$meltano" init demo --no-usage-stats
cd demo
"$meltano" add tap-demo --custom --namespace tap_demo --pip-url n --executable tap-demo \
    --capabilities discover,catalog,state --settings 'start_date:date_iso8601,api_key:password'
"$meltano" add target-demo --custom --namespace target_demo --pip-url n --executable target-demo \
    --settings 'destination_path'
"$meltano" add tap-demo --as tap-demo-eu
"$meltano" environment add qa
"$meltano" plugin list
echo
echo "meltano.yml written in $work/demo:"
cat meltano.yml
