"""Profile the hot request paths in-process (cProfile, Flask test client, one thread).

    .venv/bin/python bench/profile_views.py --home /tmp/kennis-bench-home [--requests 3000]

Uses the wiki that `bench/core.py --home DIR` built there (or builds it the same way first:
--pages 10000 --revisions 1000). Writes the top functions of each scenario to
bench/results/profile-YYYY-MM-DD.txt. No server and no wrk: this shows where a worker spends
its CPU, which wrk's requests/s on a noisy machine cannot.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import random
import re
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import core  # noqa: E402


def build(home: Path, pages: int, revisions: int) -> dict:
    facts = home / "bench-facts.json"
    if facts.is_file():
        return json.loads(facts.read_text())
    with tempfile.TemporaryDirectory(prefix="kennis-prof-") as tmp:
        built = core.build_wiki(home, Path(tmp), pages, revisions, {})
    core.run_cli(home, "init", "--admin", "admin", "--password-stdin",
                 stdin=core.PASSWORD + "\n")
    facts.write_text(json.dumps(built))
    return built


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--revisions", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--out", default=f"bench/results/profile-{dt.date.today()}.txt")
    args = parser.parse_args()
    home = args.home.resolve()
    built = build(home, args.pages, args.revisions)

    for name in [k for k in os.environ if k.startswith("WIKI_")]:
        del os.environ[name]
    from wiki import config
    from wiki.app import create_app

    app = create_app(config.load(home))
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"csrf_token": token, "name": "admin",
                                    "password": core.PASSWORD})
    assert r.status_code in (302, 303), r.status_code

    names = built["names"]
    rng = random.Random(3)
    quoted = [f"/wiki/{urllib.parse.quote(n)}" for n in names]
    n = args.requests
    busy = core.BUSY
    revs = built["busy_revs"]
    scenarios = [
        ("hot page /wiki/common/tar", [f"/wiki/{core.HOT_PAGE}"] * n),
        ("uniform random pages, fresh process (first pass)", rng.choices(quoted, k=n)),
        ("uniform random pages, again", rng.choices(quoted, k=n)),
        (f"history HTML /history/{busy}", [f"/history/{busy}"] * 200),
        (f"history API /api/v1/history/{busy}?limit=100",
         [f"/api/v1/history/{busy}?limit=100"] * 200),
        ("diff HTML rev 10 -> 900", [f"/diff/{busy}?from={revs[9]}&to={revs[-100]}"] * 50),
    ]
    report = [f"# Kennis request profiles, {dt.datetime.now():%Y-%m-%d %H:%M}, "
              f"wiki {home} ({len(names):,} pages), one thread, Flask test client", ""]
    for label, urls in scenarios:
        client.get(urls[0])  # the first request of a kind pays for imports and templates
        profiler = cProfile.Profile()
        start = time.perf_counter()
        cpu = time.process_time()
        profiler.enable()
        for url in urls:
            response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"{url}: {response.status_code}")
        profiler.disable()
        wall = (time.perf_counter() - start) * 1000 / len(urls)
        cpu = (time.process_time() - cpu) * 1000 / len(urls)
        buffer = io.StringIO()
        stats = pstats.Stats(profiler, stream=buffer).strip_dirs()
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
        head = (f"## {label}: {len(urls)} requests, {wall:.2f} ms wall and {cpu:.2f} ms CPU "
                f"per request (under cProfile)")
        print(head, flush=True)
        report += [head, "", buffer.getvalue(), ""]
    out = Path(args.out)
    if not out.is_absolute():
        out = core.ROOT / out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(report))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
