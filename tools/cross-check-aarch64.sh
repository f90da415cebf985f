#!/usr/bin/env bash
# cross-check-aarch64.sh: build the engine for AArch64 (hand-written switch),
# run its benchmark driver under qemu-user, and check that the trace hash of
# the same run equals the native build's.  Needs gcc-aarch64-linux-gnu and
# qemu-user (Debian packages); not part of CI, which has no cross toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-300000}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
srcs="engine/arena.c engine/engine.c engine/evq.c engine/prng.c engine/report.c
      engine/sim_assert.c engine/stack.c engine/task.c engine/trace.c engine/waitq.c
      engine/ctx_asm.c engine/switch_aarch64.S
      schedulers/strategy.c schedulers/timed.c schedulers/random.c bench/engine.c"
extra=$(ls schedulers/*.c | grep -v -e strategy.c -e timed.c -e random.c || true)
aarch64-linux-gnu-gcc -std=c11 -O2 -D_GNU_SOURCE -DSIMRUN_VERSION='"cross"' -I. \
	-static $srcs $extra -o "$out/engine-aarch64"
native=$(build/bench/engine "$steps" | grep 'round 0' | sed 's/.*hash \([0-9a-f]*\).*/\1/')
cross=$(qemu-aarch64 "$out/engine-aarch64" "$steps" | grep 'round 0' | sed 's/.*hash \([0-9a-f]*\).*/\1/')
echo "native x86-64 hash: $native"
echo "aarch64 (qemu) hash: $cross"
[ -n "$native" ] && [ "$native" = "$cross" ]
