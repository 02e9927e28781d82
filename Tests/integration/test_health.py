"""GET /health of a running `reflex serve` answers from real checks: `ok` (200) with every part listed,
then `failing` (503) once the data directory's file system is full and a group commit fails for real
(the data directory sits on a small tmpfs that the test fills), and `degraded` (200) after space is
freed and the store commits again. Needs root (mount), as CI and this project's machines run.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import BROKER_KIND, BrokerProcess, require_prerequisite
from helpers import V5
from test_auth import add_device, client

pytestmark = pytest.mark.skipif(BROKER_KIND != "reflex", reason="Reflex's /health")


def health(node) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{node.http_port}/health", timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def part(body: dict, name: str) -> dict:
    found = [c for c in body["checks"] if c["part"] == name]
    assert len(found) == 1, body
    return found[0]


def can_mount_tmpfs(where) -> bool:
    if os.geteuid() != 0:
        return False
    where.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)], capture_output=True)
    if run.returncode != 0:
        return False
    subprocess.run(["umount", str(where)], check=True)
    return True


@pytest.fixture
def small_disk_node(tmp_path, tls_files):
    mount = tmp_path / "disk"
    require_prerequisite(can_mount_tmpfs(mount), "mounting a tmpfs needs root (CI runs as root)")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)], check=True)
    b = BrokerProcess("reflex", mount, tls_files)
    try:
        b.allow_anonymous = False
        b.device_token = add_device(b.data_dir, "tank-1")
        b.start()
        yield b
    finally:
        if b.proc is not None and b.alive():
            b.stop()
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_health_lists_every_part_and_fails_when_the_store_cannot_commit(small_disk_node):
    node = small_disk_node
    status, body = health(node)
    assert status == 200 and body["status"] == "ok", body
    assert {c["part"] for c in body["checks"]} == {"store", "ingest", "broker", "detection", "automation"}, body
    assert all(c["state"] == "ok" and c["detail"] for c in body["checks"]), body
    assert "degraded" not in body

    dev = client(node, "tank-1", node.device_token, version=V5, client_id="tank-1")
    try:
        now = int(time.time() * 1000)
        values = {f"level_{i}": float(i) for i in range(200)}
        assert dev.publish("devices/tank-1/telemetry", json.dumps({"ts": now, "values": values}), qos=1) == 0

        # Fill the file system, then publish: the group commit fails for real (SQLITE_FULL).
        filler = node.workdir / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1M", "count=64"], capture_output=True)
        codes = []
        for i in range(1, 30):
            values = {f"level_{j}": float(i * j) for j in range(200)}
            codes.append(dev.publish("devices/tank-1/telemetry", json.dumps({"ts": now + i * 1000, "values": values}),
                                     qos=1))
            if codes[-1] != 0:
                break
        assert codes[-1] == 0x80, f"a full disk makes the commit fail and the PUBACK 0x80: {codes}"
        status, body = health(node)
        assert status == 503 and body["status"] == "failing", body
        store = part(body, "store")
        assert store["state"] == "failing" and "last group commit failed" in store["detail"], body
        assert any(p["part"] == "store" for p in body["degraded"]), body

        # Space again: the next commit succeeds; the store is degraded for a minute, still serving (200).
        filler.unlink()
        assert dev.publish("devices/tank-1/telemetry", json.dumps({"ts": now + 60_000, "values": {"level_0": 1.0}}),
                           qos=1) == 0
        status, body = health(node)
        assert status == 200 and body["status"] == "degraded", body
        assert part(body, "store")["state"] == "degraded", body
    finally:
        dev.close()
