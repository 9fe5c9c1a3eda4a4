"""A fixed pure-Python workload timed beside a bench's figures.

The build machine is shared: other work slows a bench's figures and this workload alike, so
each figure is printed with the seconds this took in the same process just before it (about
0.5 s on the 2-core build machine with little else running, 2 s and more while other work
takes both cores). Compare figures of different runs only beside it.
"""

import json
import time


def baseline() -> float:
    """Seconds for 200,000 small dicts built, encoded, decoded and sorted."""
    started = time.perf_counter()
    rows = [{"id": f"txn_{i:09d}", "amount": i % 5000, "fee": 30 + i % 7} for i in range(200_000)]
    rows = json.loads(json.dumps(rows))
    rows.sort(key=lambda row: (row["amount"], row["id"]))
    return round(time.perf_counter() - started, 3)
