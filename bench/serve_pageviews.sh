#!/bin/bash
# usage: bench/serve_pageviews.sh LABEL ; page views of /wiki/Home by a logged-in user, wrk -t2 -c16 -d10s, 3 runs
set -e
H=/tmp/slow-bench-home; PORT=18431
[ -d $H ] || { .venv/bin/wiki --home $H init --admin admin --password-stdin <<< "bench-pass-12345" >/dev/null; }
setsid .venv/bin/wiki --home $H serve --port $PORT --workers 2 > /tmp/slow-bench-$1.log 2>&1 &
PID=$!
for i in $(seq 50); do curl -sf -o /dev/null http://127.0.0.1:$PORT/login && break; sleep 0.3; done
COOKIE=$(.venv/bin/python - <<PY
import re, requests
s = requests.Session(); u = "http://127.0.0.1:$PORT"
t = re.search(r'name="csrf_token" value="([^"]+)"', s.get(u + "/login").text).group(1)
r = s.post(u + "/login", data={"name": "admin", "password": "bench-pass-12345", "csrf_token": t})
assert r.status_code == 200, r.status_code
print("session=" + s.cookies["session"])
PY
)
curl -s -o /dev/null -w "status %{http_code}\n" -H "Cookie: $COOKIE" http://127.0.0.1:$PORT/wiki/Home
wrk -t2 -c16 -d3s -H "Cookie: $COOKIE" http://127.0.0.1:$PORT/wiki/Home > /dev/null
ticks() { local t=0; for p in $(pgrep -g $PID); do set -- $(cut -d' ' -f14,15 /proc/$p/stat 2>/dev/null || echo "0 0"); t=$((t+$1+$2)); done; echo $t; }
for r in 1 2 3; do T0=$(ticks); OUT=$(wrk -t2 -c16 -d10s --latency -H "Cookie: $COOKIE" http://127.0.0.1:$PORT/wiki/Home | grep -E "Requests/sec|^ +50%|^ +99%|Non-2xx" | tr -s ' ' | tr '\n' ' '); T1=$(ticks); RPS=$(echo "$OUT" | sed 's/.*Requests\/sec: \([0-9.]*\).*/\1/'); echo "$OUT cpu_ms/req: $(python3 -c "print(round(($T1-$T0)*10/($RPS*10),2))")"; done
kill -TERM -$PID; wait $PID 2>/dev/null || true
