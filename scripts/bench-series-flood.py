#!/usr/bin/env python3
"""Issue 12's series attack, re-run: one authenticated device sends ever new metric names.

The attack that found the hole: one device sent 110,000 metric names in about 11 MB of payloads
(with detection, 220,000 series counting the `anomaly:` twins); RSS went from 52 MB to 1.3 GB,
the database to 1.1 GB and a restart took 19 s of CPU. This script sends the same kind of load
(by default 1,100 QoS 1 messages of 100 new names each, names of about 90 bytes) from one
registered device and reports, before and after, and across a restart:

- RSS of the node, the size of its data directory;
- series stored, samples refused, dead letters (from /api/v1/ingest/stats);
- the restart's wall time to a listening HTTP port and its CPU time.

    scripts/bench-series-flood.py [--reflex-bin .build/release/reflex] [--messages 1100]
                                  [--names-per-message 100]

It prints one table; nothing is asserted (the series limits are tested in
Tests/integration/test_security_limits.py).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import paho.mqtt.client as mqtt

REPO = Path(__file__).resolve().parent.parent
TOKEN = re.compile(r"rfx_(?:dev|op)_[A-Za-z0-9_-]+")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"reflex exited with {proc.returncode} while starting")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"port {port} not listening after {timeout} s")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def http_get(port: int, path: str, token: str) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.loads(res.read())


class Node:
    def __init__(self, binary: str, data: Path, workdir: Path) -> None:
        self.binary, self.data, self.workdir = binary, data, workdir
        self.mqtt_port, self.http_port = free_port(), free_port()
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> float:
        """Starts the node; returns the seconds until its HTTP port listens."""
        self.starts += 1
        out = self.workdir / f"node-{self.starts}.stdout"
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--data-dir", str(self.data), "--mqtt-listen", f"127.0.0.1:{self.mqtt_port}",
             "--http-listen", f"127.0.0.1:{self.http_port}", "--log-level", "warning"],
            stdout=open(out, "w"), stderr=open(self.workdir / f"node-{self.starts}.stderr", "w"))
        wait_port(self.http_port, self.proc)
        return time.monotonic() - started

    def stop(self) -> None:
        assert self.proc
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)


def flood(node: Node, device: str, token: str, messages: int, per_message: int) -> tuple[int, float]:
    """Publishes the attack; returns the payload bytes sent and the seconds it took."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="flood", protocol=mqtt.MQTTv5)
    c.username_pw_set(device, token)
    c.max_inflight_messages_set(100)
    c.connect("127.0.0.1", node.mqtt_port)
    c.loop_start()
    sent, started, infos = 0, time.monotonic(), []
    pad = "x" * 80
    for m in range(messages):
        values = {f"attack_{pad}_{m * per_message + k:07d}": float(k) for k in range(per_message)}
        payload = json.dumps({"values": values}).encode()
        sent += len(payload)
        infos.append(c.publish(f"devices/{device}/telemetry", payload, qos=1))
    for info in infos:
        info.wait_for_publish(60)
    took = time.monotonic() - started
    c.loop_stop()
    c.disconnect()
    return sent, took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reflex-bin", default=str(REPO / ".build/release/reflex"))
    parser.add_argument("--messages", type=int, default=1100)
    parser.add_argument("--names-per-message", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-series-flood.") as tmp:
        data = Path(tmp) / "data"
        out = subprocess.run([args.reflex_bin, "device", "add", "attacker", "--data-dir", str(data)],
                             capture_output=True, text=True, check=True).stdout
        device_token = TOKEN.search(out).group(0)
        node = Node(args.reflex_bin, data, Path(tmp))
        node.start()
        deadline = time.monotonic() + 10
        while not TOKEN.search((Path(tmp) / "node-1.stdout").read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        admin = TOKEN.search((Path(tmp) / "node-1.stdout").read_text()).group(0)
        time.sleep(1)
        assert node.proc
        before = (rss_mb(node.proc.pid), dir_mb(data))
        sent, took = flood(node, "attacker", device_token, args.messages, args.names_per_message)
        time.sleep(2)  # detection and the dead letters settle
        stats = http_get(node.http_port, "/api/v1/ingest/stats", admin)
        after = (rss_mb(node.proc.pid), dir_mb(data))
        node.stop()
        restart_wall = node.start()
        restart_cpu = cpu_seconds(node.proc.pid)
        restarted = rss_mb(node.proc.pid)
        node.stop()
        series = stats["series"]
        print(f"attack: {args.messages} messages x {args.names_per_message} new names = "
              f"{args.messages * args.names_per_message} names, {sent / 1e6:.1f} MB, acknowledged in {took:.1f} s")
        print("| measure | before | after the attack |")
        print("| --- | --- | --- |")
        print(f"| RSS | {before[0]:.0f} MB | {after[0]:.0f} MB |")
        print(f"| data directory | {before[1]:.1f} MB | {after[1]:.1f} MB |")
        print(f"| device series stored | 0 | {series['series']} |")
        print(f"| samples refused (dead-lettered) | 0 | {series['samplesRefused']} "
              f"in {series['messagesRefused'] + series['messagesPartlyRefused']} messages |")
        print(f"| restart: to listening / CPU / RSS | | {restart_wall:.2f} s / {restart_cpu:.2f} s / {restarted:.0f} MB |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
