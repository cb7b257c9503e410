"""How long the rules for new names take (wiki/names.py): building the name map of a wiki of
--pages pages (per HEAD, no skeletons), the first check in a namespace (skeletons of its
siblings) and a check after that, plus the skeleton of one segment. Medians of --runs.

    .venv/bin/python bench/names.py [--pages 10000] [--runs 15]

Pure Python over generated names; no wiki, no database. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from wiki import names as names_module
from wiki.names import NameMap, skeletons


def generated(count: int) -> list[str]:
    rng = random.Random(12)
    words = ["Team", "Plan", "Notes", "Budget", "Policy", "Minutes", "Guide", "Setup", "Release",
             "Onboarding", "Архив", "Café", "Zusammenfassung", "2026", "Q3", "Roadmap"]
    spaces = [f"{rng.choice(words)} {n}" for n in range(60)]
    return [f"{rng.choice(spaces)}/{rng.choice(words)} {n}/{rng.choice(words)}"
            if n % 3 == 0 else f"{rng.choice(spaces)}/{rng.choice(words)} {n}"
            for n in range(count)]


def median_ms(action, runs: int, fresh=None) -> float:
    times = []
    for _ in range(runs):
        if fresh:
            fresh()
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    pages = generated(args.pages)
    space = pages[0].partition("/")[0]
    new = f"{space}/Nеw page"  # Cyrillic е

    build = median_ms(lambda: NameMap(pages), args.runs)
    state = {}

    def fresh_map():
        state["map"] = NameMap(pages)
        names_module._skeleton_memo.clear()

    first = median_ms(lambda: state["map"].lookalike(new), args.runs, fresh_map)
    warm = median_ms(lambda: state["map"].lookalike(new), args.runs)
    one = median_ms(lambda: [skeletons(f"Segment {n}") for n in range(1000)], args.runs,
                    names_module._skeleton_memo.clear) / 1000
    siblings = sum(1 for p in pages if p.startswith(space + "/") and p.count("/") == 1)
    print(f"pages: {args.pages}; siblings in the checked namespace: about {siblings}")
    print(f"name map per HEAD (median of {args.runs}): {build:.1f} ms")
    print(f"first check in a namespace (skeletons of its siblings): {first:.1f} ms")
    print(f"later check: {warm:.3f} ms")
    print(f"skeleton of one segment: {one * 1000:.0f} µs")


if __name__ == "__main__":
    main()
