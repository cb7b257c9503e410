"""How long expanding repeating events takes: 200 weekly and 50 daily events over a month view
(6 weeks) and over the longest range (400 days). Prints medians of 7 runs.

    .venv/bin/python bench/agenda_expand.py
"""

import statistics
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from wiki.events import expand

AMS = ZoneInfo("Europe/Amsterdam")


def run(days: int) -> tuple[float, int]:
    start = datetime(2026, 1, 6, 9, tzinfo=AMS)
    series = [("FREQ=WEEKLY;BYDAY=TU", start + timedelta(hours=i % 8)) for i in range(200)]
    series += [("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", start + timedelta(minutes=i)) for i in range(50)]
    begin, end = datetime(2026, 3, 1, tzinfo=AMS), datetime(2026, 3, 1, tzinfo=AMS)
    end += timedelta(days=days)
    t0 = time.perf_counter()
    total = 0
    for rule, first in series:
        total += len(expand(first, first + timedelta(minutes=30), rule, (), begin, end))
    return time.perf_counter() - t0, total


for days in (42, 400):
    times, count = [], 0
    for _ in range(7):
        elapsed, count = run(days)
        times.append(elapsed)
    print(f"{days:>3} days: {count} occurrences of 250 series, median "
          f"{statistics.median(times) * 1000:.1f} ms")
