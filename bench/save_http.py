"""Saves and diffs over HTTP on the wiki `bench/save.py` builds: the issue-11 targets.

    .venv/bin/python bench/save_http.py [--home /tmp/kennis-save-bench] [--saves 100]

Serves --home with `wiki serve --workers 2` and measures, with a bearer token: sequential
`PUT /api/v1/pages/...` into `common/` (about 4,600 pages) and into `Bench/`, 10 concurrent
writers saving 10 times each to their own page, and `GET /api/v1/diff/Bench/Busy?from=A&to=B`
for 100 pairs of consecutive revisions. Set PYTHONPATH to another checkout to measure its
code with the same wiki. Timings only; nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import requests  # noqa: E402
from core import (  # noqa: E402
    BUSY,
    WIKI,
    _env,
    concurrent_saves,
    free_port,
    run_cli,
    start_server,
    stop_all,
    summary,
    timed_requests,
    wait_http,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path("/tmp/kennis-save-bench"))
    parser.add_argument("--saves", type=int, default=100)
    args = parser.parse_args()
    env = _env(args.home)
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    _took, out = run_cli(args.home, "token", "create", "admin")
    token = out.strip().splitlines()[-1]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            proc = start_server([WIKI, "--home", str(args.home), "serve", "--port", str(port),
                                 "--workers", "2"], env, Path(tmp) / "serve.log")
            wait_http(f"{base}/healthz", proc)
            api = requests.Session()
            api.headers["Authorization"] = f"Bearer {token}"
            tag = time.time()
            for folder in ("common", "Bench"):
                def put(i, folder=folder):
                    return api.put(f"{base}/api/v1/pages/{folder}/http-save-{i % 10}",
                                   json={"markdown": f"# Save {i}\n\n{tag}\n",
                                         "message": f"bench http save {i}"})
                timed_requests(api, 10, put)  # warm-up: both workers, caches
                times, codes = timed_requests(api, args.saves, put)
                results[f"save into {folder}/"] = (summary(times), set(codes), os.getloadavg())
            par = concurrent_saves(base, token, 10, 10)
            results["10 concurrent saves"] = (par, par["codes"], os.getloadavg())
            revs = [r["revision"] for r in api.get(
                f"{base}/api/v1/history/{BUSY}?limit=1000").json()["revisions"]][::-1]
            pairs = [(revs[k], revs[k + 1]) for k in range(0, len(revs) - 1,
                                                             max(1, len(revs) // 100))][:100]
            times, codes = timed_requests(api, len(pairs), lambda i: api.get(
                f"{base}/api/v1/diff/{BUSY}?from={pairs[i][0]}&to={pairs[i][1]}"))
            results["diff of consecutive revisions"] = (summary(times), set(codes),
                                                        os.getloadavg())
        finally:
            stop_all()
    for label, (s, codes, load) in results.items():
        print(f"{label:32s} p50 {s['p50']:6.1f}  p95 {s['p95']:6.1f}  max {s['max']:6.1f} ms"
              f"  n={s['n']} codes={codes}  load {load[0]:.2f}")


if __name__ == "__main__":
    main()
