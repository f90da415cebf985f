#!/usr/bin/env bash
# compare-builds.sh A B: run two simrun binaries (say -O0 and -O2 builds of one
# commit) over every shipped scenario and variant with several seeds, and
# fail unless their JSON output, trace hashes included, is identical.
set -euo pipefail
a=$1 b=$2
cd "$(dirname "$0")/.."
fail=0 runs=0
for sc in scenarios/*.json; do
	# The format's JSON Schema lives beside the scenarios; it is not one.
	case $sc in *.schema.json) continue ;; esac
	variants=$("$a" "$sc" --list-variants)
	for v in "" $variants; do
		for seed in 1 7 42 1000 123456789; do
			args=("$sc" --seed "$seed" --json --no-db)
			[ -n "$v" ] && args+=(--variant "$v")
			oa=$("$a" "${args[@]}" 2>/dev/null || true)
			ob=$("$b" "${args[@]}" 2>/dev/null || true)
			runs=$((runs + 1))
			if [ "$oa" != "$ob" ] || [ -z "$oa" ]; then
				echo "MISMATCH: $sc variant '${v}' seed $seed"
				echo "  $a: $oa"
				echo "  $b: $ob"
				fail=1
			fi
		done
	done
done
echo "compare-builds: $runs runs compared"
exit $fail
