"""Search at 10,000 pages: full reindex time, query and suggestion latency, index size.

    .venv/bin/python bench/search.py [--pages 10000] [--runs 30] [--gc-freeze] [--verbose]
                                     [--keep DIR]
    .venv/bin/python bench/search.py --keep DIR --saves 300 [--compare] [--searches 1000]

Pages are the real English and Dutch tldr pages from ../shared/corpus (CC BY 4.0, © the
tldr-pages team and contributors), unpacked into a temporary folder; Dutch pages get
`lang: nl`. To reach --pages, English pages are added again under `copy/`. Searches run as a
non-admin user while a permission rule exists, so the read filter is part of every query.
Queries are timed twice: on the index just rebuilt (one segment), then after enough saves to
reach the most segments the index keeps before merging (each save also leaves a deleted
document in the big segment), which is where a live wiki spends its time. With --keep DIR the
wiki is built in DIR and kept; a later run with the same DIR skips the build (and the build
figures), rebuilding only the search index when an earlier run left it aged.

--saves N (on a wiki built with --keep, in a fresh process): N page saves over the web app's
JSON API (`PUT /api/v1/pages/…` through Flask's test client, so everything a request does
but the socket), into folders of every size, a new page or an edit, one every --pace seconds,
then --searches searches; prints save p50/p95, the index's segments and the process's RSS.
--compare: every other save indexes inside the request, as before the background indexer
(issue 11). Results:
bench/README-search.md.
"""

import argparse
import contextlib
import ctypes
import gc
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wiki import config, home  # noqa: E402
from wiki.repo import Author, Write  # noqa: E402
from wiki.search import Filters  # noqa: E402
from wiki.search.index import MERGE_AFTER_SEGMENTS  # noqa: E402
from wiki.services import build_services  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "tldr-pages-en-nl.tar.gz"

QUERIES = {
    "one word": ["archive", "network", "bestand", "process", "docker", "verwijder", "password",
                 "commit", "kubernetes", "afbeelding"],
    "two words": ["list files", "bestanden kopiëren", "delete branch", "network interface",
                  "huidige map", "compress archive", "start container", "git log",
                  "remove package", "show version"],
    "phrase": ['"current directory"', '"huidige map"', '"specific file"', '"in de huidige"',
               '"default editor"', '"remote repository"', '"all files"', '"een bestand"',
               '"log file"', '"new branch"'],
    "filtered": ["file ns:nl", "archive ns:en/linux", "user ns:en/common", "since:2000-01-01 tar",
                 "bestand ns:nl/common", "network -interface", "git ns:en", "process ns:en/osx",
                 "disk ns:en/linux", "kopieer ns:nl"],
    "question": ["how do I extract a tar archive into a folder",
                 "hoe kopieer ik bestanden naar een andere map",
                 "what is the command to show disk usage of a directory"],
}
SUGGEST = ["gi", "tar", "doc", "kub", "ffm", "pyt", "ls", "zip", "ssh", "npm"]


def pages(limit: int) -> list[tuple[str, bytes]]:
    out = []
    with tarfile.open(CORPUS) as archive:
        for member in archive.getmembers():
            if not member.isfile() or not member.name.endswith(".md"):
                continue
            top, _, rest = member.name.partition("/")
            lang = "nl" if top == "pages.nl" else "en" if top == "pages" else None
            if lang is None:
                continue
            text = archive.extractfile(member).read()
            out.append((f"{lang}/{rest}", b"---\nlang: %s\n---\n" % lang.encode() + text))
    english = [(p, t) for p, t in out if p.startswith("en/")]
    i = 0
    while len(out) < limit:
        path, text = english[i % len(english)]
        out.append((f"copy/{i // len(english)}/{path}", text))
        i += 1
    return out[:limit]


def timed(func, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append((time.perf_counter() - start) * 1000)
    return times


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def build(services, count: int) -> tuple[int, float, float, float]:
    home.initialize(services)
    services.users.create("bench", "bench-password-1", role="editor")
    services.acl.set_rule("nl/osx", "group:mac", None, actor="bench")
    corpus = pages(count)
    # In commits of 1,000 pages: one `hash-object` of 10,000 blobs passed git's 60 s timeout
    # on the loaded box.
    for start in range(0, len(corpus), 1000):
        with services.repo.write_lock():
            services.repo.commit([Write(f"{p}", t) for p, t in corpus[start:start + 1000]],
                                 "tldr pages", Author("tldr", "tldr@example.org"),
                                 parent=services.repo.head())
    start = time.perf_counter()
    services.catalog.catch_up()
    catalog_s = time.perf_counter() - start
    start = time.perf_counter()
    indexed = services.search.rebuild()
    search_s = time.perf_counter() - start
    start = time.perf_counter()
    services.catalog.rebuild()
    services.search.rebuild()
    reindex_s = time.perf_counter() - start
    return indexed, catalog_s, search_s, reindex_s


def time_queries(services, account, runs: int, verbose: bool) -> list[tuple]:
    """(kind, times in ms, fewest results) per query kind, the UI filter and suggest."""
    search = services.search
    rows = []
    for kind, queries in QUERIES.items():
        times = []
        for q in queries:
            search.search(account, q)  # warm
            times += timed(lambda q=q: search.search(account, q), runs)
        totals = [search.search(account, q).total for q in queries]
        rows.append((kind, times, f"{min(totals)}"))
        if verbose:
            for q, total in zip(queries, totals, strict=True):
                worst = max(timed(lambda q=q: search.search(account, q), 3))
                print(f"  {kind}: {q!r}: {total} results, worst of 3 {worst:.1f} ms")
    rows.append(("UI filter (prefix=nl)", timed(
        lambda: search.search(account, "file", Filters(prefix="nl")), runs), "1"))
    suggest_times = []
    suggested = sum(len(search.suggest(account, q)) for q in SUGGEST)
    for q in SUGGEST:
        search.suggest(account, q)
        suggest_times += timed(lambda q=q: search.suggest(account, q), runs)
    rows.append(("suggest", suggest_times, f"{suggested} titles for {len(SUGGEST)}"))
    return rows


def table(title: str, rows: list[tuple]) -> None:
    print(f"\n{title}\n")
    print("| query kind | p50 ms | p95 ms | fewest results |")
    print("|---|---|---|---|")
    for kind, times, fewest in rows:
        print(f"| {kind} | {statistics.median(times):.1f} | {pct(times, 95):.1f} | {fewest} |")


def age(services, account, limit: int = 20) -> int:
    """Save pages until the index has as many segments as it keeps before merging (a live
    wiki's worst case: every page edited since the last merge is a deleted document in the
    big segment plus a small segment of its own). Returns the number of saves."""
    names = [n for n, _ in pages(10_000) if n.startswith("en/common/")]
    saves = 0
    while services.search.segments()[0] < MERGE_AFTER_SEGMENTS and saves < limit:
        name = names[saves].removesuffix(".md")
        services.pages.save(account, name, f"# {name}\n\nEdited for the benchmark "
                            f"({time.time_ns()}): list files, show disk usage.\n")
        saves += 1
    return saves


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def save_names(count: int) -> list[str]:
    """Pages to save, round robin: edits in the largest folder (en/common, ~4,600 pages), in
    smaller ones (nl/common, en/linux, copy/…), and new pages in a new folder."""
    corpus = [n.removesuffix(".md") for n, _ in pages(10_000)]
    folders = ("en/common/", "nl/common/", "en/linux/", "copy/0/en/common/")
    existing = [[n for n in corpus if n.startswith(f)] for f in folders]
    names = []
    for i in range(count):
        if i % 5 == 4:
            names.append(f"bench/new/{time.time_ns()}-{i}")
        else:
            folder = existing[i % 5]
            names.append(folder[(i * 7) % len(folder)] if folder else f"{folders[i % 5]}{i}")
    return names


def time_saves(folder: str, count: int, searches: int, compare: bool, pace: float) -> None:
    from wiki.app import create_app

    settings = config.load(folder, environ={})
    app = create_app(settings)
    services = app.extensions["kennis"]
    indexer = services.search.indexer
    account = services.users.by_name("bench")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {services.users.create_token('bench', 'bench')}"}
    services.search.search(account, "warm up")
    start_rss = rss_mb()
    times: dict[str, list[float]] = {"background": [], "inline": []}
    for i, name in enumerate(save_names(count)):
        mode = "inline" if compare and i % 2 else "background"
        # --compare: every other save indexes inside the request, as before issue 11 (the
        # same process and minute, so the box's load weighs on both alike).
        services.search.flush()
        services.search.indexer = None if mode == "inline" else indexer
        body = {"markdown": f"# {name}\n\nEdited for the benchmark ({time.time_ns()}): list "
                            f"files, show disk usage.\n"}  # never the text it has already
        start = time.perf_counter()
        response = client.put(f"/api/v1/pages/{name}", headers=headers, json=body)
        times[mode].append((time.perf_counter() - start) * 1000)
        assert response.status_code in (200, 201), response.get_data(as_text=True)
        assert response.get_json()["revision"] == services.repo.head()  # a commit was made
        time.sleep(pace)  # saves come from people, not in a tight loop
    services.search.indexer = indexer
    services.search.flush()
    after_saves = rss_mb()
    queries = [q for qs in QUERIES.values() for q in qs]
    search_times: list[float] = []
    for i in range(searches):
        search_times += timed(lambda i=i: services.search.search(
            account, queries[i % len(queries)]), 1)
    segments, deleted = services.search.segments()
    for mode, values in times.items():
        if values:
            print(f"{mode} indexing, {len(values)} saves over the API (one every "
                  f"{pace * 1000:.0f} ms): p50 {statistics.median(values):.1f} ms, "
                  f"p95 {pct(values, 95):.1f} ms, max {max(values):.1f} ms")
    if search_times:
        print(f"{searches} searches: p50 {statistics.median(search_times):.1f} ms, "
              f"p95 {pct(search_times, 95):.1f} ms")
    print(f"index: {segments} segments, {deleted} deleted documents")
    print(f"RSS: {start_rss:.0f} MB after the first search, {after_saves:.0f} MB after the "
          f"saves, {rss_mb():.0f} MB after the searches")
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)
    print(f"RSS after a full collection and malloc_trim: {rss_mb():.0f} MB")
    services.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--verbose", action="store_true", help="timings per query")
    parser.add_argument("--gc-freeze", action="store_true",
                        help="gc.freeze() after building (as a warmed-up worker could)")
    parser.add_argument("--keep", metavar="DIR",
                        help="build the wiki in DIR and keep it; reuse it when already built")
    parser.add_argument("--saves", type=int, help="time this many saves (see above)")
    parser.add_argument("--searches", type=int, default=1000)
    parser.add_argument("--pace", type=float, default=0.2, help="seconds between saves")
    parser.add_argument("--compare", action="store_true",
                        help="with --saves: every other save indexes inline (as before)")
    args = parser.parse_args()
    if args.saves:
        if not args.keep or not (Path(args.keep) / "BENCH-BUILT").exists():
            parser.error("--saves needs a wiki built earlier with --keep DIR")
        time_saves(args.keep, args.saves, args.searches, args.compare, args.pace)
        return
    with contextlib.ExitStack() as stack:
        folder = args.keep or stack.enter_context(tempfile.TemporaryDirectory())
        built = args.keep and (Path(folder) / "BENCH-BUILT").exists()
        settings = config.load(folder, environ={})
        services = build_services(settings)
        if built:
            account = services.users.by_name("bench")
            if services.search.segments() != (1, 0):  # aged by an earlier run
                services.search.rebuild()
        else:
            count, catalog_s, search_s, reindex_s = build(services, args.pages)
            account = services.users.by_name("bench")
            Path(folder, "BENCH-BUILT").touch()
        index_mb = size(settings.index) / 1e6
        if args.gc_freeze:
            # The objects built so far are long-lived: keep the collector from walking them
            # again and again (the pause hypothesis in README-search.md).
            gc.collect()
            gc.freeze()

        fresh = time_queries(services, account, args.runs, args.verbose)
        start = time.perf_counter()
        saves = age(services, account)
        save_ms = (time.perf_counter() - start) * 1000 / max(saves, 1)
        segments, deleted = services.search.segments()
        aged = time_queries(services, account, args.runs, args.verbose)

        if not built:
            print(f"pages: {count}  (catalog catch-up {catalog_s:.1f} s, search index build "
                  f"{search_s:.1f} s)")
            print(f"full `wiki reindex` (catalog + search): {reindex_s:.1f} s")
        print(f"index size: {index_mb:.1f} MB")
        print(f"web save incl. catalog + index catch-up: {save_ms:.0f} ms (mean of {saves})")
        table("Just rebuilt (one segment, no deletions):", fresh)
        table(f"After {saves} saves ({segments} segments, {deleted} deleted documents):", aged)
        services.db.dispose()


if __name__ == "__main__":
    main()
