#!/bin/bash
# run.sh: our Redis queue next to BullMQ (npm, package-lock.json here), Celery and RQ
# (Debian's python3-celery, python3-rq) against ONE redis-server (AOF and RDB off), in the
# same run, interleaved: every round runs ours, BullMQ, Celery, RQ, once with the processes
# pinned to one core (client and redis-server on CPU 0: no cross-core wake-ups) and once
# unpinned. Each side prints RESULT lines:
#   RESULT name phase jobs/s client-cpu-us/job server-cpu-us/job redis-commands/job
# phases: enq1 (enqueue one at a time), enqbulk (in bulk: batches of 50; Celery a group of
# 50), drain1 (one worker, no-op jobs, one at a time), drainbulk (ours only: claim 50 + one
# batch ack). The table keeps the best jobs/s and the lowest CPU of the rounds.
#
#   bench/queue/peers/run.sh BUILD_DIR [N (5000)] [ROUNDS (3)]
# needs: redis-server, node + `npm ci` here, /usr/bin/python3 with celery and rq.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run.sh BUILD_DIR [N] [ROUNDS]}
n=${2:-5000}
rounds=${3:-3}
ours=$build/bench/queue/bench_queue_ours
[ -x "$ours" ] || { echo "run.sh: $ours missing (cmake --build $build --target bench_queue_ours)" >&2; exit 1; }
[ -d "$here/node_modules/bullmq" ] || (cd "$here" && npm ci --no-audit --no-fund >/dev/null)
py=/usr/bin/python3
$py -c 'import celery, rq' || { echo "run.sh: apt-get install python3-celery python3-rq" >&2; exit 1; }

dir=$(mktemp -d /tmp/omniva-peers-XXXXXX)
port=$($py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --appendonly no --save '' \
    --daemonize no --logfile "$dir/redis.log" &
rpid=$!
trap 'kill $rpid 2>/dev/null; wait $rpid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
url=redis://127.0.0.1:$port/0
out=$dir/results.txt
: > "$out"
for r in $(seq "$rounds"); do
  for pin in pinned unpinned; do
    if [ $pin = pinned ]; then taskset -p -c 0 $rpid >/dev/null; pre=(taskset -c 0)
    else taskset -p -c 0-$(($(nproc) - 1)) $rpid >/dev/null; pre=(); fi
    for side in ours bullmq celery rq; do
      case $side in
        ours) cmd=("$ours" "$url" "$n") ;;
        bullmq) cmd=(node "$here/bullmq.js" "$url" "$n") ;;
        celery) cmd=($py "$here/celery_bench.py" "$url" "$n") ;;
        rq) cmd=($py "$here/rq_bench.py" "$url" "$n") ;;
      esac
      (cd "$here" && "${pre[@]}" "${cmd[@]}" 2>>"$dir/errors.txt") | grep '^RESULT' |
        sed "s/^RESULT /$pin /" >> "$out" || echo "run.sh: $side ($pin, round $r) failed" >&2
    done
  done
done
echo "peers on one redis-server $(redis-server --version | cut -d' ' -f3), $n jobs, best of $rounds rounds, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
awk '
{ k = $1 " " $2 " " $3; if (!(k in best) || $4 > best[k]) best[k] = $4
  if (!(k in cli) || $5 < cli[k]) cli[k] = $5
  if (!(k in srv) || $6 < srv[k]) srv[k] = $6
  cmds[k] = $7; keys[k] = 1 }
END {
  printf "  %-9s %-7s %-10s %9s %11s %11s %9s\n", "mode", "side", "phase", "jobs/s", "cli us/job", "srv us/job", "cmds/job"
  split("pinned unpinned", modes, " "); split("ours bullmq celery rq", sides, " ")
  split("enq1 enqbulk drain1 drainbulk", phases, " ")
  for (m = 1; m <= 2; m++) for (s = 1; s <= 4; s++) for (p = 1; p <= 4; p++) {
    k = modes[m] " " sides[s] " " phases[p]
    if (k in keys) printf "  %-9s %-7s %-10s %9d %11.1f %11.1f %9.2f\n", modes[m], sides[s], phases[p], best[k], cli[k], srv[k], cmds[k]
  }
  for (m = 1; m <= 2; m++) {
    o1 = best[modes[m] " ours drain1"]; ob = best[modes[m] " ours drainbulk"]; b1 = best[modes[m] " bullmq drain1"]
    c1 = best[modes[m] " celery drain1"]; r1 = best[modes[m] " rq drain1"]
    rc = 0; rr = 0
    if (c1 > 0) rc = o1 / c1
    if (r1 > 0) rr = o1 / r1
    if (b1 > 0) printf "  %s drain: ours/BullMQ %.2fx one at a time (goal >= 1.5), %.1fx claiming 50 (goal >= 10); ours/Celery %.1fx, ours/RQ %.1fx\n", modes[m], o1 / b1, ob / b1, rc, rr
  }
}' "$out"
cp "$out" "${PEERS_RESULTS:-/tmp/omniva-peers-results.txt}"
if [ -s "$dir/errors.txt" ]; then echo "(stderr of the sides: $(grep -c . "$dir/errors.txt") lines; first:)"; head -5 "$dir/errors.txt"; fi
