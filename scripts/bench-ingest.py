#!/usr/bin/env python3
"""Durable ingest benchmark: MQTT QoS 1 telemetry into committed storage, against mosquitto's raw
rate for the same messages, in the same run, alternating.

Each of D devices (default 100) has its own MQTT 3.1.1 connection and publishes JSON batches of V
values (default 10) with distinct timestamps to devices/<id>/telemetry at QoS 1, keeping W
(default 64) messages unacknowledged. Reflex acknowledges a message only after its samples are
committed to SQLite, so PUBACKs per second × V = durable samples per second. mosquitto (no
persistence, nothing stored) gets the same connections and messages, anonymously: its PUBACK rate
is what a broker that only forwards can take from this generator.

    scripts/bench-ingest.py [--rounds 3] [--devices 100] [--messages-per-device 2000] [--values 10]
                            [--reflex-bin .build/release/reflex] [--detection on|off|both]
                            [--no-mosquitto] [--baseline-bin OTHER/reflex] [--postgres [--no-sqlite]]

--baseline-bin adds a second Reflex build (for example the revision before a refactor) to the same
alternating rounds, with the detection setting of the first (on unless --detection off), and prints
the ratio of the medians: the before/after figure of a change on the same machine and run.

--postgres adds Reflex on PostgreSQL (`reflex-pg`) to the same alternating rounds: a throwaway
cluster (Tests/integration/postgres.py: initdb in a temporary directory, default settings, fsync
on), a fresh database per run given as REFLEX_STORE to the node and the CLI; a PUBACK then means
committed in PostgreSQL. The server runs on the same machine, so it shares the cores with the node
and the generator. --no-sqlite leaves the SQLite runs out.

--detection both runs Reflex twice per round, with live detection on (every sample scored, scores
stored as anomaly:<metric>, bands and checkpoints written) and off (`--detection-enabled false`),
alternating the order between rounds, and prints the medians and their ratio. With detection on,
it also waits after the last PUBACK until /api/v1/detection/stats has scored every sample and
reports that lag (detection runs after the commit, so it does not delay PUBACKs by itself), with
the catch-up figures: how often the in-memory feed overflowed, how many samples detection read
back from the store's commit log, and how long its last catch-up took.

--verify-scores N (detection on) then feeds one more device the same messages one at a time, each
scored before the next is sent (the live path, never a catch-up), and checks that N of the burst's
devices, spread over all of them, have exactly that device's anomaly scores: every sample of the
burst is scored as a slow, steady feed would score it, catch-ups included.

The generator is plain Python on raw sockets: packets are encoded before the clock starts and each
connection sends its window in one write, so it stays cheap next to the broker.
"""
from __future__ import annotations

import argparse
import gzip
import json
import threading
import urllib.request
import os
import re
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED_TOOLS = REPO.parent / "shared" / "tools"
TOKEN = re.compile(r"rfx_(?:dev|op)_[A-Za-z0-9_-]+")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n % 128, n // 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mstr(s: str | bytes) -> bytes:
    b = s.encode() if isinstance(s, str) else s
    return len(b).to_bytes(2, "big") + b


def connect_packet(client_id: str, user: str | None, password: str | None) -> bytes:
    flags = 0x02 | (0x80 if user else 0) | (0x40 if password else 0)
    body = mstr("MQTT") + bytes([4, flags]) + (60).to_bytes(2, "big") + mstr(client_id)
    if user:
        body += mstr(user)
    if password:
        body += mstr(password)
    return bytes([0x10]) + varint(len(body)) + body


def publish_packet(topic: str, payload: bytes, packet_id: int) -> bytes:
    body = mstr(topic) + packet_id.to_bytes(2, "big") + payload
    return bytes([0x32]) + varint(len(body)) + body


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"broker exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("broker did not listen in time")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(cluster) -> float:
    """CPU time of a PostgreSQL cluster so far: the postmaster, its live children (backends, WAL
    writer, checkpointer...) and, through the postmaster's cutime/cstime, the children it reaped."""
    tick = os.sysconf("SC_CLK_TCK")
    postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
    fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    total = sum(int(f) for f in fields[11:15]) / tick
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            rest = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(rest[1]) == postmaster:
            total += (int(rest[11]) + int(rest[12])) / tick
    return total


def telemetry(i: int, values: int, base_ts: int) -> bytes:
    """Message `i` of every device: the same values for all of them, so their scores must agree."""
    return json.dumps({"ts": base_ts + i, "values": {f"m{k}": (i * 7 + k) % 1000 / 10 for k in range(values)}},
                      separators=(",", ":")).encode()


def run_load(port: int, creds: list[tuple[str, str | None, str | None]], messages: int, values: int,
             window: int, base_ts: int) -> tuple[float, int]:
    """Returns (seconds, acknowledged messages)."""
    conns = []
    sel = selectors.DefaultSelector()
    for index, (device, user, password) in enumerate(creds):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(connect_packet(f"bench-{device}-{os.getpid()}", user, password))
        ack = b""
        while len(ack) < 4:
            chunk = s.recv(4 - len(ack))
            if not chunk:
                raise RuntimeError(f"{device}: connection closed before CONNACK")
            ack += chunk
        if ack[3] != 0:
            raise RuntimeError(f"{device}: CONNACK return code {ack[3]}")
        topic = f"devices/{device}/telemetry"
        packets = []
        for i in range(messages):
            packets.append(publish_packet(topic, telemetry(i, values, base_ts), i % 65_535 + 1))
        s.setblocking(False)
        conn = {"sock": s, "packets": packets, "next": 0, "acked": 0, "pending_bytes": 0, "out": b""}
        conns.append(conn)
        sel.register(s, selectors.EVENT_READ, conn)
    start = time.monotonic()

    def top_up(conn):
        outstanding = conn["next"] - conn["acked"]
        if outstanding < window // 2 and conn["next"] < messages:
            end = min(messages, conn["acked"] + window)
            conn["out"] += b"".join(conn["packets"][conn["next"]:end])
            conn["next"] = end
        if conn["out"]:
            try:
                sent = conn["sock"].send(conn["out"])
                conn["out"] = conn["out"][sent:]
            except BlockingIOError:
                pass

    for conn in conns:
        top_up(conn)
    remaining = len(conns)
    deadline = start + 300
    while remaining and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            conn = key.data
            data = conn["sock"].recv(65536)
            if not data:
                raise RuntimeError("broker closed a connection")
            conn["pending_bytes"] += len(data)  # PUBACK = 4 bytes in MQTT 3.1.1
            done = conn["pending_bytes"] // 4
            conn["pending_bytes"] -= done * 4
            conn["acked"] += done
            if conn["acked"] >= messages:
                sel.unregister(conn["sock"])
                remaining -= 1
            else:
                top_up(conn)
        for conn in conns:
            if conn["out"]:
                top_up(conn)
    elapsed = time.monotonic() - start
    acked = sum(c["acked"] for c in conns)
    for c in conns:
        c["sock"].close()
    return elapsed, acked


def http_get(port: int, path: str, token: str) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as res:
        return json.loads(res.read())


def wait_scored(port: int, token: str, total: int, timeout: float = 300) -> tuple[int, float, dict]:
    """Polls detection stats until `total` samples are scored and nothing is behind; returns
    (scored, seconds waited, the last stats' `lag` object: catch-ups, feed overflows, replayed
    samples, the last catch-up's duration)."""
    start = time.monotonic()
    scored = 0
    lag: dict = {}
    while time.monotonic() - start < timeout:
        stats = http_get(port, "/api/v1/detection/stats", token)
        scored, lag = stats["samplesScored"], dict(stats.get("lag", {}))
        lag["broadcastDropped"] = stats.get("dropped")  # the telemetry broadcast's other subscribers (automation)
        if scored >= total and lag.get("batchesBehind", 0) == 0:
            break
        time.sleep(0.05)
    return scored, time.monotonic() - start, lag


def steady_feed(port: int, http_port: int, device: str, token: str, admin: str, messages: int, values: int,
                base_ts: int) -> float:
    """Publishes the burst's messages as `device`, one at a time, each scored before the next (the
    live path only, never a catch-up); returns the seconds it took."""
    start = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(connect_packet(f"steady-{device}-{os.getpid()}", device, token))
    if len(s.recv(4)) < 4:
        raise RuntimeError("steady feed: no CONNACK")
    scored = http_get(http_port, "/api/v1/detection/stats", admin)["samplesScored"]
    for i in range(messages):
        s.sendall(publish_packet(f"devices/{device}/telemetry", telemetry(i, values, base_ts), i % 65_535 + 1))
        ack = b""
        while len(ack) < 4:
            chunk = s.recv(4 - len(ack))
            if not chunk:
                raise RuntimeError("steady feed: connection closed")
            ack += chunk
        scored += values
        while True:
            stats = http_get(http_port, "/api/v1/detection/stats", admin)
            if stats["samplesScored"] >= scored and stats["lag"]["batchesBehind"] == 0:
                break
            time.sleep(0.001)
    s.close()
    return time.monotonic() - start


def scores_of(http_port: int, admin: str, device: str, values: int, base_ts: int, messages: int) -> list:
    """The device's anomaly:m<k> scores; waits (up to 30 s) until every message's are stored (scores
    are committed after they are computed, so the last ones may still be on their way)."""
    deadline = time.monotonic() + 30
    while True:
        out = []
        for k in range(values):
            body = http_get(http_port, f"/api/v1/devices/{device}/series/anomaly:m{k}/raw?from={base_ts}"
                                       f"&to={base_ts + messages}&limit={messages + 1}", admin)
            out.append([(p["ts"], p["value"]) for p in body["samples"]])
        if all(len(scores) >= messages for scores in out) or time.monotonic() > deadline:
            return out
        time.sleep(0.1)


def http_round(reflex_bin: str, threads: int, requests_per_thread: int, lines: int, values: int) -> tuple[float, float]:
    """Telegraf-style writes: gzip line protocol to POST /api/v2/write, each answered 204 only
    after its samples are committed. Returns (samples/s, broker CPU seconds)."""
    with tempfile.TemporaryDirectory(prefix="bench-ingest-http.") as tmp:
        mqtt_port, http_port = free_port(), free_port()
        out_path = Path(tmp) / "stdout"
        proc = subprocess.Popen([reflex_bin, "serve", "--mqtt-listen", f"127.0.0.1:{mqtt_port}", "--http-listen",
                                 f"127.0.0.1:{http_port}", "--data-dir", str(Path(tmp) / "data"), "--log-level",
                                 "warning"], stdout=open(out_path, "w"), stderr=subprocess.DEVNULL)
        try:
            wait_port(http_port, proc)
            deadline = time.monotonic() + 10
            while not TOKEN.search(out_path.read_text()) and time.monotonic() < deadline:
                time.sleep(0.05)
            token = TOKEN.search(out_path.read_text()).group(0)
            base_ns = (int(time.time()) - 86_400) * 1_000_000_000
            bodies = []
            for t in range(threads):
                mine = []
                for r in range(requests_per_thread):
                    text = "\n".join(
                        f"plant,device=http-{t} " + ",".join(f"f{k}={(i * 7 + k) % 1000 / 10}" for k in range(values))
                        + f" {base_ns + (r * lines + i) * 1_000_000}" for i in range(lines))
                    mine.append(gzip.compress(text.encode()))
                bodies.append(mine)
            url = f"http://127.0.0.1:{http_port}/api/v2/write?org=bench&bucket=bench&precision=ns"
            errors = []

            def post_all(mine):
                for body in mine:
                    req = urllib.request.Request(url, data=body, method="POST", headers={
                        "Authorization": f"Token {token}", "Content-Encoding": "gzip",
                        "Content-Type": "text/plain; charset=utf-8", "User-Agent": "Telegraf/1.30 (bench)"})
                    with urllib.request.urlopen(req, timeout=60) as res:
                        if res.status != 204:
                            errors.append(res.status)

            cpu_before = cpu_seconds(proc.pid)
            start = time.monotonic()
            workers = [threading.Thread(target=post_all, args=(mine,)) for mine in bodies]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            elapsed = time.monotonic() - start
            cpu = cpu_seconds(proc.pid) - cpu_before
            if errors:
                raise RuntimeError(f"HTTP writes answered {errors[:5]}")
            return threads * requests_per_thread * lines * values / elapsed, cpu
        finally:
            proc.terminate()
            proc.wait(30)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--devices", type=int, default=100)
    ap.add_argument("--messages-per-device", type=int, default=2000)
    ap.add_argument("--values", type=int, default=10)
    ap.add_argument("--window", type=int, default=64)
    ap.add_argument("--reflex-bin", default=str(REPO / ".build/release/reflex"))
    ap.add_argument("--http-threads", type=int, default=4, help="concurrent HTTP writers (0: skip HTTP)")
    ap.add_argument("--http-requests", type=int, default=50, help="requests per HTTP writer")
    ap.add_argument("--http-lines", type=int, default=5000, help="lines per request (Telegraf's default batch is 1000)")
    ap.add_argument("--detection", choices=["on", "off", "both"], default="on",
                    help="run Reflex with live detection on, off, or both alternating (default: on, the node default)")
    ap.add_argument("--no-mosquitto", action="store_true", help="skip the mosquitto baseline")
    ap.add_argument("--postgres", action="store_true",
                    help="also run Reflex on PostgreSQL (reflex-pg: a throwaway cluster, a fresh database per run, "
                         "detection as --detection says, on for 'both') in the same alternating rounds")
    ap.add_argument("--no-sqlite", action="store_true", help="with --postgres: skip Reflex on SQLite")
    ap.add_argument("--baseline-bin", help="a second reflex binary run in the same rounds (before/after a change)")
    ap.add_argument("--verify-scores", type=int, default=0, metavar="N",
                    help="with detection on, after the burst feed a steady device the same data one message at a "
                         "time and check that N burst devices (spread over all) have exactly its scores")
    args = ap.parse_args()
    if args.baseline_bin and not Path(args.baseline_bin).exists():
        print(f"no {args.baseline_bin}", file=sys.stderr)
        return 2
    if not Path(args.reflex_bin).exists():
        print(f"no {args.reflex_bin}; build it with: swift build -c release --product reflex", file=sys.stderr)
        return 2
    if not args.no_mosquitto and not shutil.which("mosquitto"):
        print("mosquitto is needed for the baseline: apt-get install -y mosquitto", file=sys.stderr)
        return 2
    reflex_kinds = {"on": ["reflex"], "off": ["reflex-nodetect"], "both": ["reflex", "reflex-nodetect"]}[args.detection]
    if args.no_sqlite:
        reflex_kinds = []
    cluster = None
    if args.postgres:
        sys.path.insert(0, str(REPO / "Tests" / "integration"))
        from postgres import PostgresCluster  # the integration suite's throwaway cluster

        cluster = PostgresCluster()
        reflex_kinds = reflex_kinds + ["reflex-pg"]
    kinds = reflex_kinds + (["baseline"] if args.baseline_bin else []) + ([] if args.no_mosquitto else ["mosquitto"])
    try:
        return run_rounds(args, kinds, reflex_kinds, cluster)
    finally:
        if cluster is not None:
            cluster.close()


def run_rounds(args, kinds: list[str], reflex_kinds: list[str], cluster) -> int:
    devices = [f"bench-{i:03d}" for i in range(args.devices)]
    total_samples = args.devices * args.messages_per_device * args.values
    results: dict[str, list[tuple[float, float]]] = {kind: [] for kind in kinds}
    print(f"{args.devices} devices x {args.messages_per_device} messages x {args.values} values "
          f"= {total_samples} samples per run; QoS 1, window {args.window}; "
          f"reflex = detection on, reflex-nodetect = detection off", flush=True)
    for round_ in range(args.rounds):
        order = kinds[round_ % len(kinds):] + kinds[:round_ % len(kinds)]
        for kind in order:
            with tempfile.TemporaryDirectory(prefix="bench-ingest.") as tmp:
                port = free_port()
                http_port = free_port()
                binary = args.baseline_bin if kind == "baseline" else args.reflex_bin
                is_reflex = kind != "mosquitto"
                detect = kind == "reflex" or (kind in ("baseline", "reflex-pg") and args.detection != "off")
                env = dict(os.environ)
                if kind == "reflex-pg":
                    env["REFLEX_STORE"] = cluster.url(cluster.create_database("bench"))
                if is_reflex:
                    data = Path(tmp) / "data"
                    tokens = {}
                    for d in devices + (["steady-reference"] if args.verify_scores and detect else []):
                        out = subprocess.run([binary, "device", "add", d, "--data-dir", str(data)],
                                             capture_output=True, text=True, check=True, env=env).stdout
                        tokens[d] = TOKEN.search(out).group(0)
                    cmd = [binary, "serve", "--mqtt-listen", f"127.0.0.1:{port}", "--data-dir", str(data),
                           "--log-level", "warning", "--http-listen", f"127.0.0.1:{http_port}",
                           "--detection-enabled", "true" if detect else "false"]
                    creds = [(d, d, tokens[d]) for d in devices]
                else:
                    conf = Path(tmp) / "mosquitto.conf"
                    template = (SHARED_TOOLS / "mosquitto-bench.conf").read_text()
                    conf.write_text(re.sub(r"(?m)^listener\s+\d+.*$", f"listener {port} 127.0.0.1", template))
                    cmd = ["mosquitto", "-c", str(conf)]
                    creds = [(d, None, None) for d in devices]
                stdout_path = Path(tmp) / "broker.stdout"
                proc = subprocess.Popen(cmd, stdout=open(stdout_path, "w"), stderr=open(Path(tmp) / "broker.log", "w"),
                                        env=env)
                try:
                    wait_port(port, proc)
                    cpu_before = cpu_seconds(proc.pid)
                    pg_before = server_cpu_seconds(cluster) if kind == "reflex-pg" else 0.0
                    base_ts = int(time.time() * 1000) - 86_400_000
                    elapsed, acked = run_load(port, creds, args.messages_per_device, args.values, args.window, base_ts)
                    cpu = cpu_seconds(proc.pid) - cpu_before
                    stored = ""
                    if kind == "reflex-pg":
                        stored += f" postgres CPU {server_cpu_seconds(cluster) - pg_before:.2f}s;"
                    if detect:
                        token = TOKEN.search(stdout_path.read_text()).group(0)
                        scored, lag, figures = wait_scored(http_port, token, acked * args.values)
                        stored += (f" scored={scored}/{acked * args.values} (all scored {lag:.2f}s after the last PUBACK;"
                                   f" feed overflows {figures.get('feedOverflows', '?')},"
                                   f" catch-ups {figures.get('catchUps', '?')},"
                                   f" replayed {figures.get('samplesReplayed', '?')} samples,"
                                   f" last catch-up {figures.get('lastCatchUpSeconds') or 0:.2f}s;"
                                   f" telemetry broadcast drops (automation) {figures.get('broadcastDropped')})")
                        if args.verify_scores:
                            took = steady_feed(port, http_port, "steady-reference", tokens["steady-reference"], token,
                                               args.messages_per_device, args.values, base_ts)
                            reference = scores_of(http_port, token, "steady-reference", args.values, base_ts,
                                                  args.messages_per_device)
                            step = max(1, len(devices) // args.verify_scores)
                            checked = devices[::step][:args.verify_scores]
                            differ = [d for d in checked
                                      if scores_of(http_port, token, d, args.values, base_ts,
                                                   args.messages_per_device) != reference]
                            complete = all(len(r) == args.messages_per_device for r in reference)
                            stored += (f"; scores of {len(checked)} burst devices vs a steady feed ({took:.0f}s): "
                                       f"{'EQUAL' if not differ and complete else 'DIFFERENT: ' + ', '.join(differ)}"
                                       f"{'' if complete else ' (the reference is incomplete)'}")
                    if is_reflex:
                        # The group commit's rhythm: how many samples one transaction took on average.
                        token = TOKEN.search(stdout_path.read_text()).group(0)
                        store = http_get(http_port, "/api/v1/ingest/stats", token)["store"]
                        if store["commits"]:
                            stored += f" commits={store['commits']} ({store['samplesCommitted'] / store['commits']:,.0f} samples each);"
                        proc.send_signal(signal.SIGTERM)
                        proc.wait(30)
                        out = subprocess.run([binary, "query", "series", devices[0], "--data-dir", str(data),
                                              "--json"], capture_output=True, text=True, env=env).stdout
                        count = sum(int(s["samples"]) for s in json.loads(out) if not s["metric"].startswith("anomaly:"))
                        if kind == "reflex-pg":
                            db = int(cluster.psql("SELECT pg_database_size(current_database())",
                                                  database=env["REFLEX_STORE"].rsplit("/", 1)[1]))
                        else:
                            db = sum(p.stat().st_size for p in data.glob("samples.sqlite*"))
                        stored += f" stored(device 0)={count}/{args.messages_per_device * args.values} db={db / 1e6:.1f}MB"
                finally:
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait()
                samples_per_s = acked * args.values / elapsed
                results[kind].append((samples_per_s, cpu))
                print(f"round {round_ + 1} {kind:9s}: {acked}/{args.devices * args.messages_per_device} PUBACKs in "
                      f"{elapsed:.2f}s = {acked / elapsed:,.0f} msgs/s = {samples_per_s:,.0f} samples/s; "
                      f"broker CPU {cpu:.2f}s{stored}", flush=True)
    medians = {kind: statistics.median(s for s, _ in runs) for kind, runs in results.items()}
    cpu = {kind: statistics.median(c for _, c in runs) for kind, runs in results.items()}
    print("\nmedian samples/s (PUBACKed): " + "  ".join(
        f"{kind} {rate:,.0f} (CPU {cpu[kind]:.1f}s)" for kind, rate in medians.items()))
    if "reflex-pg" in medians:
        for kind in reflex_kinds:
            if kind != "reflex-pg":
                print(f"reflex-pg / {kind}: {medians['reflex-pg'] / medians[kind]:.2f}")
    if "reflex" in medians and "reflex-nodetect" in medians:
        print(f"detection on / off: {medians['reflex'] / medians['reflex-nodetect']:.2f} "
              f"(CPU {cpu['reflex'] / cpu['reflex-nodetect']:.2f}x)")
    if "baseline" in medians:
        first = reflex_kinds[0]
        print(f"{first} ({args.reflex_bin}) / baseline ({args.baseline_bin}): "
              f"{medians[first] / medians['baseline']:.3f} (CPU {cpu[first] / cpu['baseline']:.2f}x)")
    if "mosquitto" in medians:
        for kind in reflex_kinds:
            print(f"{kind} / mosquitto (forwarding only): {medians[kind] / medians['mosquitto']:.2f}")
    if args.http_threads > 0:
        rates = []
        for round_ in range(args.rounds):
            rate, cpu = http_round(args.reflex_bin, args.http_threads, args.http_requests, args.http_lines, args.values)
            rates.append(rate)
            print(f"http round {round_ + 1}: {rate:,.0f} samples/s committed via POST /api/v2/write "
                  f"({args.http_threads} writers, {args.http_lines} lines x {args.values} fields per gzip request); "
                  f"broker CPU {cpu:.2f}s", flush=True)
        print(f"median HTTP line-protocol ingest: {statistics.median(rates):,.0f} samples/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
