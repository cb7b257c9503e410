"""Git push benchmark: time from `git push` of 100 changed pages to all of them visible and
searchable.

    .venv/bin/python bench/git_push.py [--pages 2000] [--changed 100] [--commits 1|100]
                                       [--rounds 3] [--out bench/results/git-push-DATE.md]

Builds a wiki of --pages generated pages in a temporary WIKI_HOME (through one push, which is
itself timed), serves it with `wiki serve --workers 3`, clones it, then per round changes
--changed pages (each gets a unique word) in --commits commits and measures:

- push: wall time of `git push` (upload, pre-receive policy, ref update, catch-up);
- visible: from the start of the push until every changed page shows its new text through
  `GET /api/v1/pages/{path}`;
- searchable: from the start of the push until `GET /api/v1/search?q=WORD` finds all of them.

Nothing here is a test; see bench/README-git.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WIKI = Path(sys.executable).with_name("wiki")
PASSWORD = "bench-password-1"

import requests  # noqa: E402


def run(*args, cwd=None, env=None, stdin=None):
    return subprocess.run(args, cwd=cwd, env=env, input=stdin, capture_output=True, text=True,
                          check=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def git_env(home: Path) -> dict:
    return {"PATH": os.environ["PATH"], "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0", "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "b@x",
            "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "b@x"}


def page_text(number: int, word: str = "") -> str:
    return (f"# Page {number}\n\nGenerated page {number} about topic {number % 37}. {word}\n\n"
            + "Some ordinary text for the search index. " * 20 + "\n")


def wait_until(check, timeout=120.0) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise TimeoutError("gave up waiting")
        time.sleep(0.02)
    return time.monotonic()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--changed", type=int, default=100)
    parser.add_argument("--commits", type=int, default=1, help="1, or one commit per page")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path,
                        default=ROOT / "bench" / "results" / f"git-push-{dt.date.today()}.md")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kennis-bench-git-") as tmp:
        tmp = Path(tmp)
        home = tmp / "home"
        home.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("WIKI_")}
        env["XDG_RUNTIME_DIR"] = str(tmp)
        run(str(WIKI), "--home", str(home), "init", "--admin", "admin", "--password-stdin",
            env=env, stdin=PASSWORD + "\n")
        token = run(str(WIKI), "--home", str(home), "token", "create", "admin",
                    env=env).stdout.strip().splitlines()[-1]
        port = free_port()
        log = open(tmp / "serve.log", "wb")  # noqa: SIM115
        server = subprocess.Popen([str(WIKI), "--home", str(home), "serve", "--port", str(port),
                                   "--workers", "3"], stdout=log, stderr=subprocess.STDOUT,
                                  env=env, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {token}"
        lines = []
        try:
            wait_until(lambda: _up(url), timeout=60)
            genv = git_env(tmp)
            clone = tmp / "clone"
            remote = f"http://admin:{PASSWORD}@127.0.0.1:{port}/wiki.git"
            run("git", "-c", "credential.helper=", "clone", "--quiet", remote, str(clone),
                env=genv)
            (clone / "Bench").mkdir()
            for number in range(options.pages):
                (clone / "Bench" / f"Page {number}.md").write_text(page_text(number))
            run("git", "add", "-A", cwd=clone, env=genv)
            run("git", "commit", "--quiet", "-m", "bench pages", cwd=clone, env=genv)
            start = time.monotonic()
            run("git", "-c", "credential.helper=", "push", "--quiet", cwd=clone, env=genv)
            lines.append(f"- initial push of {options.pages} new pages: "
                         f"{time.monotonic() - start:.2f} s")
            results = []
            for round_number in range(options.rounds):
                word = f"zebra{round_number}x{os.getpid()}"
                changed = list(range(round_number, options.pages,
                                     max(1, options.pages // options.changed)))[:options.changed]
                for index, number in enumerate(changed):
                    (clone / "Bench" / f"Page {number}.md").write_text(page_text(number, word))
                    if options.commits > 1:
                        run("git", "commit", "--quiet", "-am", f"change {index}", cwd=clone,
                            env=genv)
                if options.commits == 1:
                    run("git", "commit", "--quiet", "-am", f"round {round_number}", cwd=clone,
                        env=genv)
                start = time.monotonic()
                run("git", "-c", "credential.helper=", "push", "--quiet", cwd=clone, env=genv)
                pushed = time.monotonic() - start
                visible = wait_until(lambda changed=changed, word=word: all(
                    word in api.get(f"{url}/api/v1/pages/Bench/Page {n}", timeout=30)
                    .json().get("markdown", "") for n in changed)) - start
                count = len(changed)
                searchable = wait_until(lambda word=word, count=count: api.get(
                    f"{url}/api/v1/search", params={"q": word, "limit": 1}, timeout=30)
                    .json().get("total") == count) - start
                results.append((pushed, visible, searchable))
                lines.append(f"- round {round_number + 1}: push {pushed:.2f} s, all visible "
                             f"{visible:.2f} s, all searchable {searchable:.2f} s")
        finally:
            server.terminate()
            server.wait(timeout=20)
            log.close()

    header = [f"# git push benchmark, {dt.datetime.now():%Y-%m-%d %H:%M}", "",
              f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"{run('git', '--version').stdout.strip()}", "",
              f"Wiki of {options.pages} pages, `wiki serve --workers 3`; each round changes "
              f"{options.changed} pages in {options.commits} commit(s) and pushes.", ""]
    text = "\n".join(header + lines) + "\n"
    print(text)
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(text)


def _up(url: str) -> bool:
    try:
        return requests.get(url + "/login", timeout=5).status_code == 200
    except requests.RequestException:
        return False


if __name__ == "__main__":
    main()
