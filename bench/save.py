"""In-process profile of a save and of a diff: where the time goes, and how many git processes.

    .venv/bin/python bench/save.py [--home /tmp/kennis-save-bench] [--saves 60]
                                   [--revisions 1000] [--profile]

Builds (once; reused next time) a wiki with the corpus's `common/` folder (about 4,600 pages),
the rest of the corpus and one page `Bench/Busy` with --revisions revisions, then, through the
services in this process (no HTTP, no Flask):

- saves --saves times into `common/` (the big folder) and into `Bench/` (a small folder) with
  `Pages.save`, timing each step (Repository.commit, the catalog's catch-up, each catalog
  listener), counting git processes and CPU time (this process plus its children);
- diffs --saves pairs of consecutive revisions of `Bench/Busy` with `Pages.diff`.

`--profile` also writes the top functions of one save into each folder (cProfile) to stdout.
Wall times on this shared machine move with the load average, printed with every figure;
CPU time and process counts are the stable ones. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from core import BUSY, build_wiki  # noqa: E402

from wiki import config, home  # noqa: E402
from wiki.repo import Repository  # noqa: E402
from wiki.services import build_services  # noqa: E402
from wiki.users import Account  # noqa: E402

ADMIN = Account(id=1, name="admin", email="admin@bench.invalid", role="admin")


class Counter:
    """Counts the git processes this process starts (every one goes through subprocess)."""

    def __init__(self):
        self.count = 0
        self.commands: list[str] = []
        self._run = subprocess.run
        self._popen_init = subprocess.Popen.__init__

    def __enter__(self):
        counter = self

        def init(popen, args, *a, **kw):
            if isinstance(args, (list, tuple)) and args and args[0] == "git":
                counter.count += 1
                counter.commands.append(str(args[1]))
            return counter._popen_init(popen, args, *a, **kw)

        subprocess.Popen.__init__ = init
        return self

    def __exit__(self, *exc):
        subprocess.Popen.__init__ = self._popen_init


def cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class Steps:
    """Wall time of the steps of a save, by wrapping the methods that do them."""

    def __init__(self, services):
        self.times: dict[str, list[float]] = {}
        self.services = services

    def wrap(self, owner, attr, label):
        original = getattr(owner, attr)

        def timed(*a, **kw):
            t = time.perf_counter()
            try:
                return original(*a, **kw)
            finally:
                self.times.setdefault(label, []).append((time.perf_counter() - t) * 1000)

        setattr(owner, attr, timed)
        return timed

    def install(self):
        s = self.services
        self.wrap(s.repo, "commit", "Repository.commit")
        self.wrap(s.catalog, "catch_up", "Catalog.catch_up (with listeners)")
        self.wrap(s.catalog, "_apply", "Catalog._apply (SQL, render)")
        self.wrap(s.repo, "log", "Repository.log")
        s.catalog.listeners[:] = [self.listener(f) for f in s.catalog.listeners]

    def listener(self, function):
        label = f"listener {getattr(function, '__qualname__', function)}"

        def timed(*a, **kw):
            t = time.perf_counter()
            try:
                return function(*a, **kw)
            finally:
                self.times.setdefault(label, []).append((time.perf_counter() - t) * 1000)
        return timed


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def summary(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return f"p50 {statistics.median(values):7.2f}  p95 {p95:7.2f}  (n={len(values)})"


def ensure_wiki(home_dir: Path, revisions: int):
    settings = config.load(home_dir, environ={})
    if not Repository(settings.repository).exists():
        print(f"building the wiki in {home_dir} ({load()})", file=sys.stderr)
        with tempfile.TemporaryDirectory() as tmp:
            build_wiki(home_dir, Path(tmp), 9000, revisions, {})  # the corpus (8,961)
        services = build_services(settings)
        t = time.perf_counter()
        home.initialize(services)
        print(f"initial catch-up {time.perf_counter() - t:.1f} s", file=sys.stderr)
        if services.users.by_name("admin") is None:
            services.users.create("admin", "bench-password-1", role="admin",
                                  email="admin@bench.invalid")
        services.db.dispose()
    return build_services(settings)


def save_round(services, folder: str, n: int, steps: Steps, tag: str) -> dict:
    times, cpus, procs = [], [], []
    for i in range(n):
        name = f"{folder}/bench-save-{i % 10}"
        text = f"# Bench save {i}\n\nSaved by bench/save.py, round {i}, tag {tag}.\n"
        c0 = cpu()
        with Counter() as counter:
            t = time.perf_counter()
            services.pages.save(ADMIN, name, text, message=f"bench save {i}")
            times.append((time.perf_counter() - t) * 1000)
        cpus.append((cpu() - c0) * 1000)
        procs.append(counter.count)
    return {"wall": times, "cpu": cpus, "procs": procs, "commands": counter.commands}


def diff_round(services, n: int) -> dict:
    rows = services.pages.history(ADMIN, BUSY)
    revs = [r.revision for r in reversed(rows)]
    step = max(1, (len(revs) - 1) // n)
    pairs = [(revs[k], revs[k + 1]) for k in range(0, len(revs) - 1, step)][:n]
    times, cpus, procs = [], [], []
    for a, b in pairs:
        c0 = cpu()
        with Counter() as counter:
            t = time.perf_counter()
            services.pages.diff(ADMIN, BUSY, a, b)
            times.append((time.perf_counter() - t) * 1000)
        cpus.append((cpu() - c0) * 1000)
        procs.append(counter.count)
    return {"wall": times, "cpu": cpus, "procs": procs, "commands": counter.commands}


def report(label: str, result: dict) -> None:
    print(f"\n{label}  [{load()}]")
    print(f"  wall ms   {summary(result['wall'])}")
    print(f"  cpu ms    {summary(result['cpu'])}   (this process + git children)")
    print(f"  git procs median {statistics.median(result['procs'])}: "
          f"{' '.join(result['commands'])}")


def profile_one(services, name: str) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    services.pages.save(ADMIN, name, f"# Profiled\n\n{time.time()}\n", message="profile")
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
    print(f"\ncProfile of one save of {name}\n" + out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path("/tmp/kennis-save-bench"))
    parser.add_argument("--saves", type=int, default=60)
    parser.add_argument("--revisions", type=int, default=1000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--no-search", action="store_true",
                        help="leave the search listener out (it is moving out of the save)")
    args = parser.parse_args()
    services = ensure_wiki(args.home, args.revisions)
    if args.no_search:
        services.catalog.listeners[:] = [f for f in services.catalog.listeners
                                         if "search" not in repr(f).lower()]
    services.catalog.catch_up()
    folder_size = sum(1 for p in services.repo.tree() if p.startswith("common/"))
    print(f"wiki: {len(services.repo.tree()):,} files, common/ {folder_size:,} "
          f"({load()})")
    steps = Steps(services)
    steps.install()
    tag = str(time.time())
    save_round(services, "common", 5, steps, tag + "w")  # warm-up (render cache, imports)
    steps.times.clear()
    big = save_round(services, "common", args.saves, steps, tag)
    report(f"save into common/ ({folder_size:,} pages)", big)
    big_steps = {k: list(v) for k, v in steps.times.items()}
    steps.times.clear()
    small = save_round(services, "Bench", args.saves, steps, tag)
    report("save into Bench/ (small folder)", small)
    for label, values in (("steps, common/", big_steps), ("steps, Bench/", steps.times)):
        print(f"\n{label} (wall ms)")
        for step, times in values.items():
            print(f"  {step:55s} {summary(times)}")
    report("diff of consecutive revisions of Bench/Busy (Pages.diff)",
           diff_round(services, args.saves))
    if args.profile:
        profile_one(services, "common/bench-profiled")
        profile_one(services, "Bench/bench-profiled")
    with contextlib.suppress(Exception):
        services.db.dispose()


if __name__ == "__main__":
    main()
