"""rq_tasks.py: the no-op job of rq_bench.py (RQ refuses functions of __main__)."""


def noop(payload):
    return None
