#!/usr/bin/env python3
# Console load measurement (tests the officials' console of a running `indmon serve`):
#   python3 benches/console_load.py DB.sqlite PORT SESSIONS REQUESTS_PER_SESSION [THINK_MS [PAGES]]
# Inserts SESSIONS signed-in sessions (spread over the recipients that have mail in the outbox)
# straight into console_session, then runs one keep-alive connection per session taking the
# PAGES in turn (default todo,alerts): GET /todo, GET /alerts/{random open alert}, GET
# /cases/{random open case}; prints p50/p99 per page, errors and throughput. An alert or case
# outside the official's scope answers 404, counted as an answer, not an error.
# Without THINK_MS every session asks again as soon as it has its answer (a closed loop: all
# SESSIONS requests in flight at once); with it, each waits a random 0–2×THINK_MS between pages,
# as an official reading the page would.
# SQLite only (it writes the sessions with Python's sqlite3). See the console note for a run.
import hashlib, base64, os, sqlite3, sys, threading, time, http.client, random, re

db, port, n, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
think = int(sys.argv[5]) / 1000 if len(sys.argv) > 5 else 0
pages = sys.argv[6].split(",") if len(sys.argv) > 6 else ["todo", "alerts"]
con = sqlite3.connect(db)
recips = [r[0] for r in con.execute("SELECT DISTINCT recipient FROM outbox")]
ids = [r[0] for r in con.execute("SELECT id FROM alert WHERE state != 'resolved' LIMIT 2000")]
case_ids = [r[0] for r in con.execute("SELECT id FROM alert_case WHERE state != 'closed' LIMIT 2000")]
now = int(time.time() * 1000)
cookies = []
for i in range(n):
    sid = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    h = hashlib.sha256(sid.encode()).hexdigest()
    con.execute("INSERT INTO console_session VALUES (?,?,?,?,?,?)",
                (h, recips[i % len(recips)], now, now, now + 86400000, "127.0.0.1"))
    cookies.append(sid)
con.commit()
lat, errs, lock = [], [], threading.Lock()
def worker(sid):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for k in range(per):
        if think:
            time.sleep(random.uniform(0, 2 * think))
        page = pages[k % len(pages)]
        if page == "todo":
            path = "/todo"
        elif page == "cases":
            path = "/cases/%d" % random.choice(case_ids)
        else:
            path = "/alerts/%d" % random.choice(ids)
        t = time.perf_counter()
        try:
            c.request("GET", path, headers={"Cookie": "indmon_session=" + sid})
            r = c.getresponse(); r.read()
            ok = r.status in (200, 404)
        except Exception as e:
            ok = False; c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        d = time.perf_counter() - t
        with lock:
            lat.append((path.split("/")[1], d))
            if not ok: errs.append(path)
ts = [threading.Thread(target=worker, args=(s,)) for s in cookies]
t0 = time.perf_counter()
[t.start() for t in ts]; [t.join() for t in ts]
wall = time.perf_counter() - t0
for kind in ("todo", "alerts", "cases"):
    xs = sorted(d for k, d in lat if k == kind)
    if xs:
        print("%-7s n=%d p50=%.0fms p99=%.0fms max=%.0fms" % (kind, len(xs), xs[len(xs)//2]*1000, xs[int(len(xs)*0.99)]*1000, xs[-1]*1000))
print("sessions=%d requests=%d errors=%d wall=%.1fs rps=%.0f recipients=%d" % (n, len(lat), len(errs), wall, len(lat)/wall, len(recips)))
