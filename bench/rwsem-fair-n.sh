#!/bin/sh
# bench/rwsem-fair-n.sh N: scenarios/rwsem-fair-deadlock.json's pattern
# with N faulting tasks, as scenario JSON on stdout, for bench/run's
# "schedules to the first deadlock" rows.  The writer (fuse write of pages
# 0-3, holding each page's folio lock while it faults in its source page)
# and the unmapper (munmap, queued for mmap_lock write) are as in the
# shipped scenario; the one reader becomes N, reader i faulting on page
# i mod 4 of the mapping, each on its own CPU, so any of them can close
# the cycle and the schedule space grows with N.  Not a shipped scenario:
# a load generator for a benchmark.
set -eu
n=${1:?usage: bench/rwsem-fair-n.sh N}
case $n in
*[!0-9]* | "" | 0) echo "rwsem-fair-n: N must be a positive integer" >&2; exit 2 ;;
esac
if [ "$n" -gt 62 ]; then
	echo "rwsem-fair-n: N at most 62 (64 CPUs, one per task)" >&2
	exit 2
fi
readers=""
i=0
while [ "$i" -lt "$n" ]; do
	readers="$readers,
    { \"name\": \"reader$i\", \"cpu\": $((i + 1)),
      \"ops\": [ { \"fault\": { \"vma\": \"fmap\", \"page\": $((i % 4)) } } ] }"
	i=$((i + 1))
done
cat <<JSON
{
  "name": "rwsem-fair-n$n",
  "description": "bench/rwsem-fair-n.sh: rwsem-fair-deadlock with $n faulting tasks",
  "machine": { "cpus": $((n + 2)) },
  "kernel": { "fault_retry": "none", "fault_lock": "mmap_only",
              "write_path": "fuse_multi_lock", "rwsem": "fair" },
  "files": [ { "name": "f", "size": "16 pages", "cached": "all", "fuse": true } ],
  "vmas": [
    { "name": "fmap", "start": 0, "pages": 16, "kind": "file_private", "file": "f" },
    { "name": "src", "start": 512, "pages": 16, "kind": "anon", "anon_vma": true },
    { "name": "scratch", "start": 1024, "pages": 16, "kind": "anon", "anon_vma": true }
  ],
  "tasks": [
    { "name": "writer", "cpu": 0,
      "ops": [ { "write": { "file": "f", "offset_pages": 0, "pages": 4,
                            "source_vma": "src", "source_page": 0 } } ] }$readers,
    { "name": "unmapper", "cpu": $((n + 1)),
      "ops": [ { "munmap": { "vma": "scratch" } } ] }
  ]
}
JSON
