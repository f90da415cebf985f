#!/bin/sh
# parallel_shards.sh SIMRUN SOURCE_DIR: a campaign run as 4 shards by GNU
# parallel on this machine, as the README runs it over hosts, then
# `simrun merge`: the merged campaign must equal the campaign run in one
# process (tools/campaign_dump.sh: every run, finding and metric), and
# hold the lock_order finding that only the shards together can find.
set -eu
simrun=$1
src=$2
command -v parallel >/dev/null || {
	echo "parallel_shards.sh: GNU parallel is not installed (sh tools/deps.sh installs it)" >&2
	exit 1
}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
sc="$src/scenarios/rwsem-fair-deadlock.json"
args="--strategy random --schedules 200 --seed 42"

# Exit 1 means findings, which this campaign has; 2 and up are failures.
rc=0
"$simrun" "$sc" $args --db one.db >one.txt || rc=$?
[ "$rc" -eq 1 ] || { echo "one process: exit $rc" >&2; cat one.txt >&2; exit 1; }

parallel --will-cite -j4 \
	"'$simrun' '$sc' $args --shard {}/4 --db shard{}.db >shard{}.txt; test \$? -le 1" \
	::: 0 1 2 3

rc=0
"$simrun" merge merged.db shard0.db shard1.db shard2.db shard3.db >merge.txt || rc=$?
[ "$rc" -eq 1 ] || { echo "merge: exit $rc" >&2; cat merge.txt >&2; exit 1; }

sh "$src/tools/campaign_dump.sh" one.db >one.dump
sh "$src/tools/campaign_dump.sh" merged.db >merged.dump
grep -q '^finding|[0-9]*|lock_order|' merged.dump || {
	echo "the merged campaign has no lock_order finding" >&2
	exit 1
}
if ! cmp -s one.dump merged.dump; then
	echo "the merged campaign differs from the one-process campaign:" >&2
	diff one.dump merged.dump | head -20 >&2
	exit 1
fi
echo "4 shards under GNU parallel, merged: $(grep -c '^run|' merged.dump) runs, equal to one process"
