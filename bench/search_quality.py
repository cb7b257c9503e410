"""Search quality: known-item query sets, title queries and hand-written intranet questions.

    .venv/bin/python bench/search_quality.py [--sample 400] [--keep DIR] [--verbose SET]
                                             [--json FILE]

The wiki holds the real English and Dutch tldr pages from ../shared/corpus (CC BY 4.0, © the
tldr-pages team and contributors) with their description (the `> …` lines other than the
"More information" link) REMOVED, and the intranet pages in bench/intranet/ (HR, IT and
facilities in both languages, plus a long newsletter and long minutes full of common words).

Sets (each query has one right page, or for titles every page with that title):

- `tldr-en description`, `tldr-nl description`: the removed description is the query
  (known-item search: what a colleague types to find the page);
- `tldr-en title`, `tldr-nl title`, `intranet title`: a page's title is the query;
- `intranet-en question`, `intranet-nl question`: hand-written questions (bench/intranet/
  queries.tsv), and `intranet-en keyword`, `intranet-nl keyword`: short keyword queries.

Per set: MRR (over the first 20 results), top-1, top-3, zero-result rate and the median time
per query. Then "first query after start": a new set of services on the same wiki (as a worker
after a restart), the time of its first search for `command`, then the median of the next 10.
Samples are drawn with a fixed seed, so runs compare. Results: bench/README-search.md.
"""

import argparse
import contextlib
import json
import random
import re
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
from wiki.services import build_services  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "tldr-pages-en-nl.tar.gz"
INTRANET = Path(__file__).resolve().parent / "intranet"
DEPTH = 20  # results looked at for the reciprocal rank
SEED = 15


def _description(text: str) -> tuple[str, str]:
    """(the page without its description lines, the description as one line)."""
    kept, described = [], []
    for line in text.splitlines():
        if line.startswith(">") and "<http" not in line:
            described.append(line.lstrip("> ").strip())
        else:
            kept.append(line)
    return "\n".join(kept) + "\n", " ".join(described)


def _title(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return ""


def tldr_pages() -> list[dict]:
    out = []
    with tarfile.open(CORPUS) as archive:
        for member in archive.getmembers():
            if not member.isfile() or not member.name.endswith(".md"):
                continue
            top, _, rest = member.name.partition("/")
            lang = "nl" if top == "pages.nl" else "en" if top == "pages" else None
            if lang is None:
                continue
            text = archive.extractfile(member).read().decode("utf-8")
            body, description = _description(text)
            out.append({"path": f"tldr/{lang}/{rest.removesuffix('.md')}", "lang": lang,
                        "text": f"---\nlang: {lang}\n---\n{body}", "title": _title(text),
                        "description": description})
    return out


def intranet_pages() -> list[dict]:
    out = []
    for file in sorted(INTRANET.glob("*/*.md")):
        lang = file.parent.name
        text = file.read_text("utf-8")
        out.append({"path": f"intranet/{lang}/{file.stem}", "lang": lang,
                    "text": f"---\nlang: {lang}\n---\n{text}", "title": _title(text)})
    return out


def query_sets(tldr: list[dict], intranet: list[dict], sample: int) -> dict[str, list]:
    """Set name -> [(query, set of right paths)]."""
    rng = random.Random(SEED)
    sets: dict[str, list] = {}
    everything = tldr + intranet
    by_title: dict[str, set[str]] = {}
    for page in everything:
        by_title.setdefault(page["title"].casefold(), set()).add(page["path"])
    for lang in ("en", "nl"):
        pages = [p for p in tldr if p["lang"] == lang]
        seen: dict[str, int] = {}
        for p in pages:
            key = re.sub(r"\W+", " ", p["description"].casefold()).strip()
            seen[key] = seen.get(key, 0) + 1
        # A description shared by several pages names no one page: left out.
        unique = [p for p in pages if p["description"] and seen[re.sub(
            r"\W+", " ", p["description"].casefold()).strip()] == 1]
        chosen = rng.sample(unique, min(sample, len(unique)))
        sets[f"tldr-{lang} description"] = [(p["description"], {p["path"]}) for p in chosen]
        chosen = rng.sample(pages, min(sample, len(pages)))
        sets[f"tldr-{lang} title"] = [(p["title"], by_title[p["title"].casefold()])
                                      for p in chosen]
    sets["intranet title"] = [(p["title"], by_title[p["title"].casefold()]) for p in intranet]
    for line in (INTRANET / "queries.tsv").read_text("utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        lang, kind, stem, query = line.split("\t")
        sets.setdefault(f"intranet-{lang} {kind}", []).append(
            (query, {f"intranet/{lang}/{stem}"}))
    return sets


def build(services, pages: list[dict]) -> None:
    home.initialize(services)
    services.users.create("bench", "bench-password-1", role="editor")
    with services.repo.write_lock():
        services.repo.commit([Write(f"{p['path']}.md", p["text"].encode()) for p in pages],
                             "tldr and intranet pages", Author("bench", "bench@example.org"),
                             parent=services.repo.head())
    services.catalog.catch_up()
    services.search.rebuild()


def measure(services, account, queries: list, verbose: bool) -> dict:
    ranks, times, zero = [], [], 0
    for query, right in queries:
        start = time.perf_counter()
        found = services.search.search(account, query, limit=DEPTH)
        times.append((time.perf_counter() - start) * 1000)
        paths = [h.path for h in found.hits if h.kind == "page"]
        rank = next((i + 1 for i, p in enumerate(paths) if p in right), None)
        ranks.append(rank)
        zero += found.total == 0
        if verbose and rank != 1:
            print(f"    rank {rank}: {query!r} -> {sorted(right)[0]}; got {paths[:3]}")
    n = len(queries)
    return {"queries": n,
            "mrr": sum(1 / r for r in ranks if r) / n,
            "top1": sum(r == 1 for r in ranks) / n,
            "top3": sum(bool(r and r <= 3) for r in ranks) / n,
            "zero": zero / n,
            "p50_ms": statistics.median(times)}


def first_query(folder: str, account_name: str) -> tuple[float, float]:
    """(first search after start, median of the next 10) in ms, on new services."""
    settings = config.load(folder, environ={})
    services = build_services(settings)
    account = services.users.by_name(account_name)
    if hasattr(services.search, "warm"):  # what a worker does at start, if anything
        services.search.warm()
    start = time.perf_counter()
    services.search.search(account, "command")
    first = (time.perf_counter() - start) * 1000
    after = []
    for _ in range(10):
        start = time.perf_counter()
        services.search.search(account, "command")
        after.append((time.perf_counter() - start) * 1000)
    services.db.dispose()
    return first, statistics.median(after)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sample", type=int, default=400,
                        help="queries per tldr set (drawn with a fixed seed)")
    parser.add_argument("--keep", metavar="DIR", help="build the wiki in DIR, reuse it later")
    parser.add_argument("--verbose", metavar="SET", default="",
                        help="print the misses of the sets whose name contains this")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    tldr, intranet = tldr_pages(), intranet_pages()
    sets = query_sets(tldr, intranet, args.sample)
    with contextlib.ExitStack() as stack:
        folder = args.keep or stack.enter_context(tempfile.TemporaryDirectory())
        marker = Path(folder) / "QUALITY-BUILT"
        settings = config.load(folder, environ={})
        services = build_services(settings)
        if not marker.exists():
            start = time.perf_counter()
            build(services, tldr + intranet)
            print(f"built {len(tldr) + len(intranet)} pages in "
                  f"{time.perf_counter() - start:.0f} s")
            marker.touch()
        account = services.users.by_name("bench")
        services.search.search(account, "warm up")
        figures = {}
        print("| set | queries | MRR | top-1 | top-3 | zero results | p50 ms |")
        print("|---|---|---|---|---|---|---|")
        for name, queries in sets.items():
            verbose = bool(args.verbose) and args.verbose in name
            if verbose:
                print(f"  misses in {name}:")
            f = figures[name] = measure(services, account, queries, verbose)
            print(f"| {name} | {f['queries']} | {f['mrr']:.3f} | {f['top1']:.3f} | "
                  f"{f['top3']:.3f} | {f['zero']:.3f} | {f['p50_ms']:.1f} |")
        services.db.dispose()
        first, after = first_query(folder, "bench")
        figures["first query after start"] = {"first_ms": first, "then_p50_ms": after}
        print(f"\nfirst query after start (`command`): {first:.0f} ms; "
              f"the next 10: median {after:.1f} ms")
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=1), "utf-8")


if __name__ == "__main__":
    main()
