"""celery_bench.py: Celery's side of bench/queue/peers (run.sh), Debian's python3-celery
with the Redis broker: enqueue one at a time (apply_async), enqueue in bulk (a group of 50,
one apply_async), drain with one worker (solo pool, default prefetch, no-op task, results
ignored; with prefetch 1 this Celery took one task per broker poll, 10 s). The drain is
timed in the worker between the first task's start and the last's
end (start-up excluded). Prints RESULT lines (see run.sh).
    python3 celery_bench.py REDIS_URL N
"""
import os
import resource
import subprocess
import sys
import time

import redis
from celery import Celery, group, signals

URL, N = sys.argv[1], int(sys.argv[2])
app = Celery("celery_bench", broker=URL)
app.conf.update(task_ignore_result=True,
                worker_hijack_root_logger=False, broker_connection_retry_on_startup=True)
PAYLOAD = {"video_id": "5f0c8e43-6a1b-4d7e-9a53-0e1f2b3c4d5e",
           "project_id": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
           "trace_id": "6c2a9b1e-3d4f-4e5a-9b6c-7d8e9f0a1b2c"}
R = redis.Redis.from_url(URL)


@app.task(name="noop")
def noop(payload):
    return None


def stats():
    c = R.info("commandstats")
    calls = sum(v["calls"] for k, v in c.items() if k not in ("cmdstat_info",))
    cpu = R.info("cpu")
    return calls, cpu["used_cpu_user"] + cpu["used_cpu_sys"]


def cpu_self():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def report(phase, dt, cpu, s0, s1):
    # straight to fd 1: the worker redirects sys.stdout into its logger
    os.write(1, (f"RESULT celery {phase} {N / dt:.0f} {cpu * 1e6 / N:.1f} "
                 f"{(s1[1] - s0[1]) * 1e6 / N:.1f} {(s1[0] - s0[0] - 2) / N:.2f}\n").encode())


def producer():
    R.flushall()
    app.connection_for_write().ensure_connection()
    noop.apply_async((PAYLOAD,))  # warm the producer's connection and exchange
    R.flushall()
    for phase in ("enq1", "enqbulk"):
        s0, c0, t0 = stats(), cpu_self(), time.perf_counter()
        if phase == "enq1":
            for _ in range(N):
                noop.apply_async((PAYLOAD,))
        else:
            for _ in range(0, N, 50):
                group(noop.s(PAYLOAD) for _ in range(50)).apply_async()
        report(phase, time.perf_counter() - t0, cpu_self() - c0, s0, stats())
        if phase == "enq1":
            drain()
    R.flushall()


STATE = {}


@signals.task_prerun.connect
def _pre(**_):
    if "t0" not in STATE:
        STATE.update(t0=time.perf_counter(), c0=cpu_self(), s0=stats(), n=0)


@signals.task_postrun.connect
def _post(**_):
    STATE["n"] += 1
    if STATE["n"] == N:
        report("drain1", time.perf_counter() - STATE["t0"], cpu_self() - STATE["c0"],
               STATE["s0"], stats())
        os._exit(0)


def drain():
    # a process of its own (a forked child would share the producer's broker socket)
    subprocess.run([sys.executable, os.path.abspath(__file__), URL, str(N), "worker"],
                   check=False)


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[3] == "worker":
        app.worker_main(["worker", "--pool=solo", "--concurrency=1", "--loglevel=WARNING",
                         "--without-gossip", "--without-mingle", "--without-heartbeat"])
    else:
        producer()
