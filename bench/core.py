"""Core benchmark of Kennis: page views, saves, history, diff, blame and worker memory.

    .venv/bin/python bench/core.py [--pages 10000] [--revisions 1000] [--duration 15]
                                   [--out bench/results/core-YYYY-MM-DD.md]

Builds a wiki of --pages pages (real Markdown from ../shared/corpus/tldr-pages-en-nl.tar.gz,
CC BY 4.0 (c) the tldr-pages team and contributors, topped up with generated pages) plus one
page `Bench/Busy` with --revisions revisions in a temporary WIKI_HOME, serves it with
`wiki serve --workers 2` and measures it with wrk and sequential HTTP clients.
See bench/README.md. Needs wrk (`apt-get install -y wrk`, as root; installed here if missing
and running as root). Timings are printed and written to --out; nothing here is a test.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from wiki import paths as wiki_paths  # noqa: E402
from wiki.repo import Author, Repository, Write  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "tldr-pages-en-nl.tar.gz"
VENV_BIN = Path(sys.executable).parent
WIKI = str(VENV_BIN / "wiki")
GUNICORN = str(VENV_BIN / "gunicorn")
LUA = Path(__file__).resolve().parent / "wrk_paths.lua"
PASSWORD = "bench-password-1"
HOT_PAGE = "common/tar"
BUSY = "Bench/Busy"
BIG_FOLDER = "common"  # the corpus's largest folder (about 4,600 pages)
FILES_PER_COMMIT = 2500
BUSY_LINES = 40

HELLO_APP = '''
from flask import Flask
app = Flask(__name__)

@app.route("/")
def hello():
    return "Hello, World!"
'''

_servers: list[subprocess.Popen] = []


def log(*args) -> None:
    print(f"[{time.strftime('%H:%M:%S')}]", *args, file=sys.stderr, flush=True)


# --- processes ---------------------------------------------------------------------------------

def start_server(command: list[str], env: dict, logfile: Path, cwd: Path | None = None
                 ) -> subprocess.Popen:
    out = open(logfile, "ab")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, cwd=cwd, start_new_session=True)
    proc._bench_log = out  # type: ignore[attr-defined]
    _servers.append(proc)
    return proc


def stop_server(proc: subprocess.Popen) -> None:
    """Stop the server's whole process group (master and workers)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    # Workers left behind by a master that died first.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc._bench_log.close()  # type: ignore[attr-defined]
    if proc in _servers:
        _servers.remove(proc)


def stop_all(*_args) -> None:
    for proc in list(_servers):
        with contextlib.suppress(Exception):
            stop_server(proc)


def _on_signal(signum, _frame):
    stop_all()
    raise SystemExit(128 + signum)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 120.0) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}; see its log")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return time.perf_counter() - start
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def worker_rss(master: int) -> tuple[int, list[int]]:
    """(master RSS, [RSS of each child]) in KiB."""
    def rss(pid: int) -> int:
        out = subprocess.run(["ps", "-o", "rss=", "-p", str(pid)], capture_output=True,
                             text=True).stdout.strip()
        return int(out) if out else 0
    kids = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True,
                          text=True).stdout.split()
    return rss(master), [rss(int(k)) for k in kids]


def cpu_seconds(master: int) -> float:
    """User+system CPU seconds used so far by the master and its live children."""
    kids = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True,
                          text=True).stdout.split()
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in [str(master), *kids]:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def measured_wrk(master: int, *args, **kwargs) -> dict:
    """run_wrk, plus the server's CPU milliseconds per request (robust on a noisy box)."""
    before = cpu_seconds(master)
    result = run_wrk(*args, **kwargs)
    used = cpu_seconds(master) - before
    count = result.get("requests")
    result["cpu_ms"] = used * 1000 / count if count else float("nan")
    return result


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("wrk is missing; installing it with apt-get")
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True,
                       stdout=subprocess.DEVNULL)
        found = shutil.which("wrk")
        if found:
            return found
    sys.exit("wrk is missing: install it with `apt-get install -y wrk` (as root)")


# --- building the wiki -------------------------------------------------------------------------

def corpus_pages(tmp: Path) -> dict[str, bytes]:
    """Repository path -> Markdown for every corpus page with a valid, unique page name."""
    target = tmp / "corpus"
    target.mkdir()
    with tarfile.open(CORPUS) as tar:
        tar.extractall(target, filter="data")
    pages: dict[str, bytes] = {}
    keys: set[str] = set()
    for top, prefix in (("pages", ""), ("pages.nl", "nl/")):
        for file in sorted((target / top).rglob("*.md")):
            name = prefix + file.relative_to(target / top).as_posix()[:-3]
            try:
                name = wiki_paths.normalize(name)
            except Exception:
                continue
            if wiki_paths.key(name) in keys:
                continue
            keys.add(wiki_paths.key(name))
            pages[wiki_paths.to_file(name)] = file.read_bytes()
    shutil.rmtree(target)
    return pages


def generated_page(number: int, rng: random.Random, names: list[str]) -> bytes:
    words = ["archive", "backup", "cluster", "deploy", "engine", "folder", "gateway",
             "handbook", "index", "journal", "kernel", "ledger", "mirror", "network", "office",
             "policy", "queue", "release", "server", "ticket", "update", "vendor", "workflow"]
    para = lambda n: " ".join(rng.choice(words) for _ in range(n)).capitalize() + "."  # noqa: E731
    links = " ".join(f"[[{rng.choice(names)}]]" for _ in range(3))
    return (f"---\ntitle: Generated page {number}\ntags: [generated, team-{number % 17}]\n---\n"
            f"# Generated page {number}\n\n{para(40)}\n\n## Steps\n\n"
            + "".join(f"- {para(8)}\n" for _ in range(5))
            + f"\n## Example\n\n```sh\nkennis-tool --page {number} --mode fast\n```\n\n"
            f"See also: {links}\n\n| key | value |\n|---|---|\n| owner | team-{number % 17} |\n"
            f"| number | {number} |\n").encode()


def busy_text(revision: int, lines: list[str]) -> bytes:
    return ("# Busy page\n\nA page edited very often.\n\n" + "\n".join(lines) + "\n").encode()


def build_wiki(home: Path, tmp: Path, n_pages: int, n_revisions: int, figures: dict) -> dict:
    """Fill HOME/content/wiki.git; return facts about it (page names, busy revisions)."""
    t0 = time.perf_counter()
    files = corpus_pages(tmp)
    corpus_count = len(files)
    names = [f[:-3] for f in files]
    wanted = max(n_pages - 1, 0)  # the busy page is one of the --pages
    if len(files) > wanted:
        hot = wiki_paths.to_file(HOT_PAGE)
        keep = [hot] + [f for f in sorted(files) if f != hot][:wanted - 1]
        files = {f: files[f] for f in keep if f in files}
    rng = random.Random(42)
    number = 0
    while len(files) < wanted:
        number += 1
        files[f"Generated/Team-{number % 50:02d}/Page-{number:05d}.md"] = \
            generated_page(number, rng, names)
    figures["corpus pages used"] = min(corpus_count, wanted)
    figures["generated pages"] = number
    log(f"{len(files)} pages ready ({corpus_count} from the corpus, {number} generated)")

    repo = Repository(home / "content" / "wiki.git")
    repo.init()
    importer = Author("Bench Importer", "import@bench.invalid")
    head = None
    items = sorted(files.items())
    t1 = time.perf_counter()
    for start in range(0, len(items), FILES_PER_COMMIT):
        chunk = items[start:start + FILES_PER_COMMIT]
        head = repo.commit([Write(p, d) for p, d in chunk],
                           f"Import pages {start + 1}-{start + len(chunk)}", importer,
                           parent=head)
    figures["import commits (s)"] = round(time.perf_counter() - t1, 2)

    authors = [Author("Alice Bench", "alice@bench.invalid"),
               Author("Bob Bench", "bob@bench.invalid")]
    lines = [f"Line {k}: nothing yet." for k in range(BUSY_LINES)]
    busy_revs = []
    t2 = time.perf_counter()
    for r in range(1, n_revisions + 1):
        if r > 1:
            k = (r - 2) % BUSY_LINES
            lines[k] = f"Line {k}: changed in revision {r} by {authors[r % 2].name}."
        head = repo.commit([Write(f"{BUSY}.md", busy_text(r, lines))],
                           f"Busy revision {r}", authors[r % 2], parent=head)
        busy_revs.append(head)
    took = time.perf_counter() - t2
    figures["busy commits (s)"] = round(took, 2)
    figures["busy commit, mean (ms)"] = round(took / max(n_revisions, 1) * 1000, 1)
    figures["build total (s)"] = round(time.perf_counter() - t0, 2)
    page_names = [p[:-3] for p in files] + ([BUSY] if n_revisions else [])
    return {"names": page_names, "busy_revs": busy_revs}


def run_cli(home: Path, *args: str, stdin: str | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run([WIKI, "--home", str(home), *args], input=stdin, text=True,
                            capture_output=True, env=_env(home))
    took = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"wiki {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return took, result.stdout


def _env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIKI_")}
    env["WIKI_HOME"] = str(home)
    return env


# --- measuring ----------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")


def run_wrk(wrk: str, url: str, duration: int, headers: list[str] = (),
            script_args: list[str] | None = None, threads: int = 2, connections: int = 16
            ) -> dict:
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
               "--timeout", "10s"]
    for h in headers:
        command += ["-H", h]
    if script_args is not None:
        command += ["-s", str(LUA)]
    command.append(url)
    if script_args is not None:
        command += ["--", *script_args]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = {"raw": out, "rps": float("nan"), "errors": 0, "non2xx": 0}
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Requests/sec:"):
            result["rps"] = float(line.split()[1])
        m = re.fullmatch(r"(50|75|90|99)%\s+(\S+)", line)
        if m:
            result[f"p{m.group(1)}"] = _ms(m.group(2))
        if line.startswith("Non-2xx or 3xx responses:"):
            result["non2xx"] = int(line.split()[-1])
        if line.startswith("Socket errors:"):
            result["errors"] = sum(int(x) for x in re.findall(r"\d+", line))
        m = re.match(r"(\d+) requests in", line)
        if m:
            result["requests"] = int(m.group(1))
    return result


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def timed_requests(session: requests.Session, n: int, make) -> tuple[list[float], list[int]]:
    """Run `make(i)` (returning a response) n times; latencies in ms and status codes."""
    times, codes = [], []
    for i in range(n):
        start = time.perf_counter()
        response = make(i)
        response.content  # noqa: B018 - read the whole body
        times.append((time.perf_counter() - start) * 1000)
        codes.append(response.status_code)
    return times, codes


def built_folder_size(names: list[str]) -> int:
    return sum(1 for n in names if n.startswith(BIG_FOLDER + "/"))


def concurrent_saves(base: str, token: str, writers: int, rounds: int) -> dict:
    """`writers` threads, each saving its own page `rounds` times at once: latencies."""
    import concurrent.futures

    def writer(w: int) -> tuple[list[float], list[int]]:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        return timed_requests(session, rounds, lambda i: session.put(
            f"{base}/api/v1/pages/Bench/Parallel-{w}",
            json={"markdown": f"# Writer {w}\n\nRound {i}.\n", "message": "bench parallel"}))

    with concurrent.futures.ThreadPoolExecutor(writers) as pool:
        results = list(pool.map(writer, range(writers)))
    times = [t for ts, _ in results for t in ts]
    return {**summary(times), "codes": _codes([c for _, cs in results for c in cs])}


def summary(times: list[float]) -> dict:
    return {"n": len(times), "p50": statistics.median(times), "p95": percentile(times, 95),
            "max": max(times), "mean": statistics.fmean(times)}


def login(base: str) -> str:
    s = requests.Session()
    page = s.get(f"{base}/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = s.post(f"{base}/login", data={"csrf_token": token, "name": "admin",
                                      "password": PASSWORD}, allow_redirects=False)
    if r.status_code not in (302, 303) or "session" not in s.cookies:
        raise RuntimeError(f"login failed: {r.status_code}")
    return s.cookies["session"]


def hello_world(wrk: str, tmp: Path, duration: int, figures: dict, wrk_runs: dict) -> None:
    folder = tmp / "hello"
    folder.mkdir()
    (folder / "hello.py").write_text(HELLO_APP)
    port = free_port()
    command = [GUNICORN, "-w", "2", "-k", "gthread", "--threads", "4", "-b",
               f"127.0.0.1:{port}", "--chdir", str(folder), "hello:app"]
    proc = start_server(command, dict(os.environ), tmp / "hello.log", cwd=folder)
    try:
        wait_http(f"http://127.0.0.1:{port}/", proc)
        run_wrk(wrk, f"http://127.0.0.1:{port}/", 3)  # warm-up
        wrk_runs["Flask hello-world (gunicorn -w 2 -k gthread --threads 4)"] = \
            measured_wrk(proc.pid, wrk, f"http://127.0.0.1:{port}/", duration)
        figures["hello command"] = " ".join(command[1:]).replace(str(folder), "HELLO_DIR")
    finally:
        stop_server(proc)


# --- report -------------------------------------------------------------------------------------

def f1(x: float) -> str:
    return f"{x:,.1f}" if x == x else "n/a"


def render(report: dict) -> str:
    fig, runs, lat = report["figures"], report["wrk"], report["latency"]
    hello = runs.get("Flask hello-world (gunicorn -w 2 -k gthread --threads 4)")
    out = [f"# Kennis core benchmark, {report['date']}", ""]
    out += [f"- command: `{report['command']}`",
            f"- machine: {report['machine']}",
            f"- code: {report['code']}",
            f"- load average at start: {report['load_start']}; at end: {report['load_end']}",
            f"- wiki: {report['pages']:,} pages ({fig.get('corpus pages used', 0):,} tldr-pages "
            f"corpus pages, CC BY 4.0 (c) the tldr-pages team, + "
            f"{fig.get('generated pages', 0):,} generated), `{BUSY}` with "
            f"{report['revisions']:,} revisions; `wiki serve --workers 2` (gunicorn gthread, "
            f"4 threads each, no access log)",
            f"- wrk: `-t2 -c16 -d{report['duration']}s --latency`, after a 3 s warm-up run "
            "of the same scenario; logged-in session cookie", ""]
    out += ["## Page views (wrk)", "",
            "| scenario | requests/s | p50 ms | p90 ms | p99 ms | server CPU ms/request | "
            "non-2xx/3xx | errors | vs hello-world |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in runs.items():
        ratio = f"{r['rps'] / hello['rps']:.0%}" if hello and hello["rps"] else ""
        out.append(f"| {name} | {r['rps']:,.0f} | {f1(r.get('p50', float('nan')))} | "
                   f"{f1(r.get('p90', float('nan')))} | {f1(r.get('p99', float('nan')))} | "
                   f"{r.get('cpu_ms', float('nan')):.2f} | {r['non2xx']} | {r['errors']} | "
                   f"{ratio} |")
    out += ["", "## Sequential requests (one keep-alive client)", "",
            "| what | n | p50 ms | p95 ms | max ms | mean ms | statuses |",
            "|---|---:|---:|---:|---:|---:|---|"]
    for name, s in lat.items():
        out.append(f"| {name} | {s['n']} | {f1(s['p50'])} | {f1(s['p95'])} | "
                   f"{f1(s['max'])} | {f1(s['mean'])} | {s['codes']} |")
    out += ["", "## Setup, index and memory", "", "| figure | value |", "|---|---:|"]
    for name, value in fig.items():
        if name == "hello command":
            continue
        out.append(f"| {name} | {value} |")
    t = report["targets"]
    out += ["", "## Targets", "", "| target | measured | met |", "|---|---:|---|"]
    for name, (value, ok) in t.items():
        out.append(f"| {name} | {value} | {'yes' if ok else '**no**'} |")
    out += ["", "<details><summary>raw wrk output</summary>", ""]
    for name, r in runs.items():
        out += [f"### {name}", "", "```", r["raw"].rstrip(), "```", ""]
    out += ["</details>", ""]
    return "\n".join(out)


# --- main ---------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--revisions", type=int, default=1_000)
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--out", default=f"bench/results/core-{dt.date.today()}.md")
    parser.add_argument("--keep", action="store_true", help="keep the temporary wiki home")
    parser.add_argument("--home", type=Path, help="build the wiki here and keep it; if it is "
                        "already built (by this script), reuse it and skip building")
    args = parser.parse_args()
    if args.revisions < 1:
        parser.error("--revisions must be at least 1")

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    wrk = ensure_wrk()
    if not CORPUS.is_file():
        sys.exit(f"the corpus {CORPUS} is missing")
    load_start = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    log(f"load average at start: {load_start}")
    tmp = Path(tempfile.mkdtemp(prefix="kennis-bench-"))
    home = args.home.resolve() if args.home else tmp / "home"
    figures: dict = {}
    runs: dict = {}
    lat: dict = {}
    try:
        facts = home / "bench-facts.json"
        if facts.is_file():
            log(f"reusing the wiki in {home} (build figures are not measured)")
            built = json.loads(facts.read_text())
            args.revisions = len(built["busy_revs"])
        else:
            built = build_wiki(home, tmp, args.pages, args.revisions, figures)
            log("wiki init (catch-up of the whole history)")
            took, _ = run_cli(home, "init", "--admin", "admin", "--password-stdin",
                              stdin=PASSWORD + "\n")
            figures["`wiki init` incl. catch-up (s)"] = round(took, 2)
            log("wiki reindex")
            took, out = run_cli(home, "reindex")
            figures["`wiki reindex` (s)"] = round(took, 2)
            if args.home:
                facts.write_text(json.dumps(built))
        took, out = run_cli(home, "token", "create", "admin")
        token = out.strip().splitlines()[-1]

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = start_server([WIKI, "--home", str(home), "serve", "--port", str(port),
                             "--workers", "2"], _env(home), tmp / "serve.log")
        figures["server ready after (s)"] = round(wait_http(f"{base}/login", proc), 2)
        cookie = login(base)
        headers = [f"Cookie: session={cookie}"]

        names = built["names"]
        rng = random.Random(7)
        rng.shuffle(names)
        quoted = [f"/wiki/{urllib.parse.quote(n)}" for n in names]
        path_file = tmp / "paths.txt"
        path_file.write_text("\n".join(quoted) + "\n")
        check = requests.Session()
        check.cookies.set("session", cookie)
        bad = [p for p in [f"/wiki/{HOT_PAGE}", *rng.sample(quoted, 50)]
               if check.get(base + p, allow_redirects=False).status_code != 200]
        if bad:
            raise RuntimeError(f"these pages do not answer 200: {bad[:5]}")

        log("wrk: uniform random, the first (cold) run after the start")
        runs["uniform random, first run after start (cold)"] = measured_wrk(
            proc.pid, wrk, base, args.duration, headers, [str(path_file), "uniform"])
        for label, url, script in (
            (f"hot page `/wiki/{HOT_PAGE}`", f"{base}/wiki/{HOT_PAGE}", None),
            (f"uniform random over all {len(names):,} pages", base, [str(path_file), "uniform"]),
            ("Zipf-like: 80% of requests to 10% of pages", base, [str(path_file), "zipf"]),
        ):
            log(f"wrk: {label}")
            run_wrk(wrk, url, 3, headers, script)  # warm-up
            runs[label] = measured_wrk(proc.pid, wrk, url, args.duration, headers, script)
            log(f"  {runs[label]['rps']:,.0f} requests/s")

        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {token}"
        log("saves")
        times, codes = timed_requests(api, 200, lambda i: api.put(
            f"{base}/api/v1/pages/Bench/Save-{i % 20}",
            json={"markdown": f"# Save {i}\n\nSaved by the benchmark, round {i}.\n",
                  "message": f"bench save {i}"}))
        lat["save `PUT /api/v1/pages/Bench/Save-{i % 20}`"] = {**summary(times),
                                                              "codes": _codes(codes)}
        times, codes = timed_requests(api, 200, lambda i: api.put(
            f"{base}/api/v1/pages/{BIG_FOLDER}/bench-save-{i % 20}",
            json={"markdown": f"# Save {i}\n\nSaved into the big folder, round {i}.\n",
                  "message": f"bench big-folder save {i}"}))
        lat[f"save into the {BIG_FOLDER}/ folder ({built_folder_size(names):,} pages)"] = {
            **summary(times), "codes": _codes(codes)}
        lat["10 concurrent saves to different pages"] = concurrent_saves(base, token, 10, 10)
        lines = [f"Line {k}: nothing yet." for k in range(BUSY_LINES)]
        def busy_save(i):
            lines[i % BUSY_LINES] = f"Line {i % BUSY_LINES}: API save {i}."
            return api.put(f"{base}/api/v1/pages/{BUSY}",
                           json={"markdown": busy_text(i, lines).decode(),
                                 "message": f"bench busy save {i}"})
        times, codes = timed_requests(api, 100, busy_save)
        lat[f"save `PUT /api/v1/pages/{BUSY}` ({args.revisions:,}+ revisions)"] = {
            **summary(times), "codes": _codes(codes)}

        log("history, diff, blame")
        web = requests.Session()
        web.cookies.set("session", cookie)
        busy_revs = built["busy_revs"]
        r_from = busy_revs[min(9, len(busy_revs) - 1)]
        r_to = busy_revs[min(899, len(busy_revs) - 1)]
        for label, session, url, n in (
            (f"history HTML `/history/{BUSY}` (100 newest)", web, f"{base}/history/{BUSY}", 200),
            (f"history API `/api/v1/history/{BUSY}?limit=100`", api,
             f"{base}/api/v1/history/{BUSY}?limit=100", 200),
            (f"diff HTML rev {busy_revs.index(r_from) + 1} → rev {busy_revs.index(r_to) + 1}",
             web, f"{base}/diff/{BUSY}?from={r_from}&to={r_to}", 100),
            (f"diff API rev {busy_revs.index(r_from) + 1} → rev {busy_revs.index(r_to) + 1}",
             api,
             f"{base}/api/v1/diff/{BUSY}?from={r_from}&to={r_to}", 100),
            (f"blame HTML `/blame/{BUSY}`", web, f"{base}/blame/{BUSY}", 5),
            ("diff API of consecutive revisions (100 pairs)", api, None, 100),
            ("page view, sequential (hot page)", web, f"{base}/wiki/{HOT_PAGE}", 200),
        ):
            if url is None:  # consecutive pairs spread over the history
                step = max(1, (len(busy_revs) - 1) // n)
                pairs = [(busy_revs[k], busy_revs[k + 1])
                         for k in range(0, len(busy_revs) - 1, step)][:n]
                times, codes = timed_requests(
                    session, len(pairs), lambda i, s=session, p=pairs: s.get(
                        f"{base}/api/v1/diff/{BUSY}?from={p[i][0]}&to={p[i][1]}"))
            else:
                times, codes = timed_requests(session, n, lambda i, s=session, u=url: s.get(u))
            lat[label] = {**summary(times), "codes": _codes(codes)}

        log("1,000 searches (before measuring memory)")
        words = ["tar", "list files", "git commit", "\"disk usage\"", "docker", "kopieer",
                 "bestanden", "network", "archive", "process"]
        times, codes = timed_requests(api, 1000, lambda i: api.get(
            f"{base}/api/v1/search", params={"q": words[i % len(words)], "limit": 10}))
        lat["search API, 10 queries × 100"] = {**summary(times), "codes": _codes(codes)}

        master_rss, workers = worker_rss(proc.pid)
        for i, kib in enumerate(workers, 1):
            figures[f"worker {i} RSS after the runs (MB)"] = round(kib / 1024, 1)
        figures["master RSS (MB)"] = round(master_rss / 1024, 1)
        stop_server(proc)

        log("Flask hello-world")
        hello_world(wrk, tmp, args.duration, figures, runs)

        views = [r["rps"] for k, r in runs.items()
                 if not k.startswith("Flask") and "cold" not in k]
        save = lat["save `PUT /api/v1/pages/Bench/Save-{i % 20}`"]
        big = next(v for k, v in lat.items() if k.startswith("save into the"))
        par = lat["10 concurrent saves to different pages"]
        cons = lat["diff API of consecutive revisions (100 pairs)"]
        cold = runs["uniform random, first run after start (cold)"]["rps"]
        hist = lat[f"history HTML `/history/{BUSY}` (100 newest)"]
        hist_api = lat[f"history API `/api/v1/history/{BUSY}?limit=100`"]
        max_rss = max(workers) / 1024 if workers else float("nan")
        targets = {
            "page views ≥ 1,500 requests/s (lowest scenario)":
                (f"{min(views):,.0f}", min(views) >= 1500),
            "save p50 ≤ 50 ms, p95 ≤ 80 ms (small folder)":
                (f"{save['p50']:.1f} / {save['p95']:.1f} ms",
                 save["p50"] <= 50 and save["p95"] <= 80),
            "save p50 ≤ 50 ms, p95 ≤ 80 ms (big folder)":
                (f"{big['p50']:.1f} / {big['p95']:.1f} ms", big["p50"] <= 50 and big["p95"] <= 80),
            "10 concurrent saves p95 ≤ 400 ms": (f"{par['p95']:.1f} ms", par["p95"] <= 400),
            "diff of consecutive revisions p95 ≤ 20 ms": (f"{cons['p95']:.1f} ms",
                                                          cons["p95"] <= 20),
            "first (cold) run ≥ 1,000 requests/s": (f"{cold:,.0f}", cold >= 1000),
            "history (1,000-revision page) p95 ≤ 20 ms, HTML / API":
                (f"{hist['p95']:.1f} / {hist_api['p95']:.1f} ms",
                 max(hist["p95"], hist_api["p95"]) <= 20),
            "worker RSS ≤ 150 MB": (f"{max_rss:.1f} MB", max_rss <= 150),
        }
        report = {
            "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "command": " ".join([".venv/bin/python", "bench/core.py", *sys.argv[1:]]),
            "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
                       f"Python {platform.python_version()}, "
                       f"{subprocess.run(['git', '--version'], capture_output=True, text=True).stdout.strip()}, "  # noqa: E501
                       f"{subprocess.run([wrk, '--version'], capture_output=True, text=True).stdout.split(' [')[0].strip()}",  # noqa: E501
            "code": code_version(),
            "load_start": load_start,
            "load_end": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
            "pages": len(names), "revisions": args.revisions, "duration": args.duration,
            "figures": figures, "wrk": runs, "latency": lat, "targets": targets,
        }
        text = render(report)
        out = Path(args.out)
        if not out.is_absolute():
            out = ROOT / out
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        out.with_suffix(".json").write_text(json.dumps(
            {k: v for k, v in report.items()}, indent=1, default=str))
        print(text)
        log(f"written to {out}")
    finally:
        stop_all()
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def code_version() -> str:
    """The commit measured, and whether the working tree differed from it (others edit it)."""
    def git(*args):
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True,
                              text=True).stdout.strip()
    dirty = [line for line in git("status", "--porcelain").splitlines()
             if not line[3:].startswith("bench/")]
    return f"commit {git('rev-parse', '--short', 'HEAD')}" + (
        f" plus uncommitted changes in {len(dirty)} files outside bench/" if dirty else "")


def _codes(codes: list[int]) -> str:
    counts: dict[int, int] = {}
    for c in codes:
        counts[c] = counts.get(c, 0) + 1
    return ", ".join(f"{c}×{n}" for c, n in sorted(counts.items()))


if __name__ == "__main__":
    main()
