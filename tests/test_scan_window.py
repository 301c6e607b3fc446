"""The scan's read window: never more than its size in flight, every result handed over once,
results that submit more work handled without recursion (a real thread pool)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from ddas.scanning.reading import Window


def test_at_most_size_tasks_in_flight_and_every_result_once() -> None:
    lock, running, peak = threading.Lock(), [0], [0]
    may_finish = [threading.Event() for _ in range(50)]

    def task(n: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        may_finish[n].wait(timeout=60)  # held until the main thread lets this one finish
        with lock:
            running[0] -= 1
        return n

    seen: list[int] = []
    with ThreadPoolExecutor(8) as pool:
        window = Window(pool, 3)
        window.on_result = seen.append
        for n in range(50):
            if n >= 3:
                may_finish[n - 3].set()  # the oldest may finish: submit waits for it alone
            window.submit(task, n)
        for event in may_finish:
            event.set()
        window.drain()
    assert peak[0] <= 3
    assert sorted(seen) == list(range(50)) and seen == list(range(50))  # oldest first


def test_results_may_submit_more_work() -> None:
    seen: list[int] = []
    with ThreadPoolExecutor(2) as pool:
        window = Window(pool, 2)

        def on_result(n: int) -> None:
            seen.append(n)
            if n < 2000:  # a chain deeper than Python's recursion limit
                window.submit(int, n + 1)

        window.on_result = on_result
        window.submit(int, 0)
        window.drain()
    assert seen == list(range(2001))
