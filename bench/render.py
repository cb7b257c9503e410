"""Render-time medians on hostile and ordinary Markdown (issue 12, item 3).

    .venv/bin/python bench/render.py [--repeat 3] [--only NAME ...]

Each input is rendered `--repeat` times with a fresh `wiki.render.Renderer` (no cache) in this
process; the table gives the median wall time, the median CPU time of the rendering thread, the
size of the HTML and whether the result was the escaped-text fallback. Timings only: the tests
assert outcomes (tests/unit/test_render.py), never times.
"""

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wiki.render import Renderer  # noqa: E402

MB = 1_000_000


def _wide_table(columns: int = 5000, size: int = 2 * MB) -> str:
    header = "|" + "|".join(f" c{i} " for i in range(columns)) + "|\n"
    rule = "|" + "|".join("---" for _ in range(columns)) + "|\n"
    row = "|" + "|".join(" x " for _ in range(columns)) + "|\n"
    rows = max(1, (size - len(header) - len(rule)) // len(row))
    return header + rule + row * rows


def _ordinary_page() -> str:
    section = (
        "## Section {i}\n\nSome *text* with a [link](https://example.org/{i}), a [[Wiki/Page {i}]]"
        " and `code`.\n\n- one\n- two\n  - nested\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        "```python\nprint({i})\n```\n\n> quoted **bold**\n\n"
    )
    return "# Ordinary\n\n" + "".join(section.format(i=i) for i in range(200))


def _prose(size: int) -> str:
    paragraph = ("Plain prose with *some emphasis*, a [link](https://example.org) and a "
                 "[[Wiki/Page]] now and then, as long pages have it.\n\n")
    return paragraph * (size // len(paragraph))


INPUTS = {
    "table-5000-columns-2MB": _wide_table,
    "entity-openers-1MB": lambda: "&#" * (MB // 2),
    "entities-1MB": lambda: "&amp;" * (MB // 5),
    "quotes-10000": lambda: ">" * 10_000 + " deep\n",
    "spaced-quotes-10000": lambda: "> " * 10_000 + "deep\n",
    "list-levels-10000": lambda: "- " * 10_000 + "deep\n",
    "ordered-levels-10000": lambda: "1. " * 10_000 + "deep\n",
    "indented-list-2000": lambda: "\n".join("  " * d + "- item" for d in range(2000)),
    "ordinary-page-40KB": _ordinary_page,
    "prose-200KB": lambda: _prose(200_000),
    "prose-1MB": lambda: _prose(MB),
}


def _measure(text: str, repeat: int) -> dict:
    walls, cpus = [], []
    result = None
    for _ in range(repeat):
        renderer = Renderer()
        wall, cpu = time.perf_counter(), time.thread_time()
        result = renderer.render(text)
        cpus.append(time.thread_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return {
        "wall": statistics.median(walls),
        "cpu": statistics.median(cpus),
        "html": len(result.html),
        "fallback": getattr(result, "too_complex", None),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=sorted(INPUTS))
    args = parser.parse_args()
    print(f"Python {platform.python_version()}, {platform.machine()}, "
          f"repeat {args.repeat}, medians\n")
    print("| input | size | wall s | cpu s | html chars | fallback |")
    print("|---|---|---|---|---|---|")
    for name in args.only or INPUTS:
        text = INPUTS[name]()
        row = _measure(text, args.repeat)
        print(f"| {name} | {len(text):,} | {row['wall']:.3f} | {row['cpu']:.3f} | "
              f"{row['html']:,} | {row['fallback']} |", flush=True)


if __name__ == "__main__":
    main()
