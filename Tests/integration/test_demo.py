"""`reflex serve --demo`: the node starts with its simulated fleet inside, prints the dashboard
address and a fresh admin token, and within seconds the fleet API lists the demo devices with live
data; a restart on the same data directory prints a new token and revokes the old one."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import BROKER_KIND, free_port
from test_auth import reflex_bin

pytestmark = pytest.mark.skipif(BROKER_KIND != "reflex", reason="reflex serve --demo")

TOKEN_LINE = re.compile(r"Admin token:\s+(\S+)")
DEVICES = {"pump-001", "pump-002", "pump-003", "chiller-001"}  # --demo-devices 4


def get(port: int, path: str, token: str) -> tuple[int, dict]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=5) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as err:
        return err.code, {}
    except OSError:
        return 0, {}


def start_demo(tmp_path, mqtt_port: int, http_port: int) -> tuple[subprocess.Popen, str]:
    out = open(tmp_path / f"demo-{time.monotonic_ns()}.stdout", "w+")
    proc = subprocess.Popen(
        [str(reflex_bin()), "serve", "--demo", "--demo-devices", "4", "--data-dir", str(tmp_path / "demo-data"),
         "--mqtt-listen", f"127.0.0.1:{mqtt_port}", "--http-listen", f"127.0.0.1:{http_port}", "--log-level", "warning"],
        stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        out.seek(0)
        match = TOKEN_LINE.search(out.read())
        if match:
            return proc, match.group(1)
        assert proc.poll() is None, "reflex serve --demo exited early"
        time.sleep(0.05)
    proc.kill()
    pytest.fail("reflex serve --demo printed no admin token within 15 s")


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=15)


def test_demo_serves_the_simulated_fleet_live_and_a_fresh_token_per_start(tmp_path):
    mqtt_port, http_port = free_port(), free_port()
    proc, token = start_demo(tmp_path, mqtt_port, http_port)
    try:
        deadline = time.monotonic() + 20
        live: set[str] = set()
        while time.monotonic() < deadline and live != DEVICES:
            status, body = get(http_port, "/api/v1/fleet", token)
            if status == 200:
                live = {d["id"] for d in body.get("devices", [])
                        if d.get("online") and ({"vibration", "refrigerant_pressure"} & set(d.get("latest", {})))}
            time.sleep(0.3)
        assert live == DEVICES, f"fleet with live data: {live}"
        status, rules = get(http_port, "/api/v1/rules", token)
        assert status == 200
        ids = {r["id"] for r in rules["rules"]}
        assert {"pump-bearing-wear", "pump-overheating", "chiller-overpressure"} <= ids
        assert all(not r["errors"] for r in rules["rules"])
    finally:
        assert stop(proc) == 0

    proc, second = start_demo(tmp_path, mqtt_port, http_port)
    try:
        assert second != token
        deadline = time.monotonic() + 10
        status = 0
        while time.monotonic() < deadline and status != 200:
            status, _ = get(http_port, "/api/v1/fleet", second)
            time.sleep(0.2)
        assert status == 200
        assert get(http_port, "/api/v1/fleet", token)[0] == 401, "the previous demo-admin token still works"
    finally:
        assert stop(proc) == 0
