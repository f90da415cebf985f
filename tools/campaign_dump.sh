#!/bin/sh
# campaign_dump.sh DB [CAMPAIGN_ID]: one campaign of a result database as
# text, without what differs between equal campaigns recorded differently
# (row ids, timestamps, the lock_event rows each process logs): the campaign
# row, every run, every finding and every metric, in schedule order.  Two
# campaigns are equal when their dumps are (the --jobs, --shard + merge and
# --resume tests compare a dump with a single process's).
set -eu
db=$1
id=${2:-}
if [ -z "$id" ]; then
	id=$(sqlite3 "$db" 'SELECT max(id) FROM campaign')
fi
sqlite3 -batch -separator '|' "$db" <<SQL
SELECT 'campaign', scenario_name, scenario_sha256, variant, strategy,
       params_json, base_seed, schedules, status, shard_index, shard_count,
       keep_decisions
  FROM campaign WHERE id = $id;
SELECT 'run', idx, seed, outcome, steps, virtual_ns, trace_hash,
       decisions_count, ifnull(hex(decisions), 'NULL')
  FROM run WHERE campaign_id = $id ORDER BY idx;
SELECT 'finding', r.idx, f.kind, f.signature, f.summary, f.detail_json,
       f.step, f.time_ns, ifnull(f.task, 'NULL'), f.hits
  FROM finding f JOIN run r ON r.id = f.run_id
 WHERE r.campaign_id = $id ORDER BY r.idx, f.id;
SELECT 'metric', name, ifnull(bucket, 'NULL'), count
  FROM metric WHERE campaign_id = $id ORDER BY name, bucket;
SQL
