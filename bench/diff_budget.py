"""Time wiki/diffs.py on the hostile diff of tests/web/test_security_review.py (moved here:
timings live in bench/, never in tests).

1,000 blocks of an unchanged line and 60 short changed lines, every changed line replaced:
before the budget of word comparisons, 300 such blocks (57 KB) took 25 s per diff request and
1,000 blocks about 90 s. Prints the median, min and max of `--runs` calls of `compare()` and
the load average before and after.

    .venv/bin/python bench/diff_budget.py            # --blocks 1000 --runs 5
"""

import argparse
import os
import statistics
import time

from wiki.diffs import compare


def blocks(tag: str, count: int) -> str:
    out = []
    for block in range(count):
        out.append(f"anchor {block}\n")
        out += [f"{tag}{k % 3}\n" for k in range(60)]
    return "".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    old, new = blocks("x", args.blocks), blocks("y", args.blocks)
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        diff = compare(old, new)
        times.append(time.perf_counter() - started)
        assert diff.added == diff.removed == 60 * args.blocks
    print(f"compare() of {args.blocks} blocks ({len(old) // 1024} KB), {args.runs} runs: "
          f"median {statistics.median(times) * 1000:.0f} ms, "
          f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
