"""rq_bench.py: RQ's side of bench/queue/peers (run.sh), Debian's python3-rq: enqueue one
at a time, enqueue in bulk (enqueue_many with a pipeline, 50 a call), drain with one worker
(SimpleWorker in burst mode: no fork per job, no-op job), timed between the first job's
start and the last's end. Prints RESULT lines (see run.sh).
    python3 rq_bench.py REDIS_URL N
"""
import resource
import sys
import time

import redis
from rq import Queue, SimpleWorker

from rq_tasks import noop

URL, N = sys.argv[1], int(sys.argv[2])
R = redis.Redis.from_url(URL)
PAYLOAD = {"video_id": "5f0c8e43-6a1b-4d7e-9a53-0e1f2b3c4d5e",
           "project_id": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
           "trace_id": "6c2a9b1e-3d4f-4e5a-9b6c-7d8e9f0a1b2c"}


def stats():
    c = R.info("commandstats")
    calls = sum(v["calls"] for k, v in c.items() if k != "cmdstat_info")
    cpu = R.info("cpu")
    return calls, cpu["used_cpu_user"] + cpu["used_cpu_sys"]


def cpu_self():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def report(phase, dt, cpu, s0, s1):
    print(f"RESULT rq {phase} {N / dt:.0f} {cpu * 1e6 / N:.1f} "
          f"{(s1[1] - s0[1]) * 1e6 / N:.1f} {(s1[0] - s0[0] - 2) / N:.2f}", flush=True)


class Timed(SimpleWorker):
    def execute_job(self, job, queue):
        if not hasattr(self, "t0"):
            self.t0, self.c0, self.s0 = time.perf_counter(), cpu_self(), stats()
        return super().execute_job(job, queue)


if __name__ == "__main__":
    R.flushall()
    q = Queue("bench", connection=R)
    for phase in ("enq1", "enqbulk"):
        s0, c0, t0 = stats(), cpu_self(), time.perf_counter()
        if phase == "enq1":
            for _ in range(N):
                q.enqueue(noop, PAYLOAD, result_ttl=0)
        else:
            for _ in range(0, N, 50):
                q.enqueue_many([Queue.prepare_data(noop, (PAYLOAD,), result_ttl=0)
                                for _ in range(50)])
        report(phase, time.perf_counter() - t0, cpu_self() - c0, s0, stats())
        if phase == "enq1":
            w = Timed([q], connection=R)
            w.work(burst=True, logging_level="WARNING")
            report("drain1", time.perf_counter() - w.t0, cpu_self() - w.c0, w.s0, stats())
    R.flushall()
