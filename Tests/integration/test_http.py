"""The HTTP API of a running `reflex serve`: InfluxDB v2 line protocol writes (gzip, as Telegraf sends
them) and MQTT telemetry, both read back over HTTP. Standard library only (urllib), no `requests`.
"""

from __future__ import annotations

import gzip
import json
import time
import urllib.error
import urllib.request

import pytest

from conftest import BROKER_KIND, BrokerProcess
from helpers import mosquitto_pub
from test_auth import add_device, first_admin_token

pytestmark = pytest.mark.skipif(BROKER_KIND != "reflex", reason="Reflex HTTP API")


@pytest.fixture(scope="module")
def http_broker(tmp_path_factory, tls_files):
    b = BrokerProcess("reflex", tmp_path_factory.mktemp("http"), tls_files)
    b.allow_anonymous = False
    b.device_token = add_device(b.data_dir, "press-1")
    b.start()
    b.admin_token = first_admin_token(b)
    yield b
    b.stop()


def call(broker, method: str, path: str, *, token: str | None = None, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(f"http://127.0.0.1:{broker.http_port}{path}", data=body, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, res.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_health_is_public_and_reads_need_a_token(http_broker):
    assert "HTTP API listening" in http_broker.stderr_text()
    assert f"127.0.0.1:{http_broker.http_port}" in http_broker.stderr_text()
    status, body = call(http_broker, "GET", "/health")
    assert status == 200 and json.loads(body)["status"] == "ok"
    status, body = call(http_broker, "GET", "/api/v1/devices")
    assert status == 401 and json.loads(body)["error"]["code"] == "unauthorized"
    status, body = call(http_broker, "GET", "/api/v1/devices", token=http_broker.admin_token)
    assert status == 200 and [d["id"] for d in json.loads(body)["devices"]] == ["press-1"]


def test_gzip_line_protocol_write_reads_back(http_broker):
    now_ns = time.time_ns()
    lines = "".join(f"cpu,cpu=cpu0,host=itest-host usage_idle={90 + i}.5,usage_user=0.{i} {now_ns - (5 - i) * 10**9}\n"
                    for i in range(5))
    status, body = call(http_broker, "POST", "/api/v2/write?org=acme&bucket=telegraf&precision=ns",
                        body=gzip.compress(lines.encode()),
                        headers={"Authorization": f"Token {http_broker.admin_token}", "Content-Encoding": "gzip",
                                 "Content-Type": "text/plain; charset=utf-8", "User-Agent": "Telegraf/1.32.0"})
    assert status == 204, body
    status, body = call(http_broker, "GET", "/api/v1/devices/itest-host/series/cpu.usage_idle/raw?limit=100",
                        token=http_broker.admin_token)
    assert status == 200, body
    assert [s["value"] for s in json.loads(body)["samples"]] == [90.5, 91.5, 92.5, 93.5, 94.5]

    status, body = call(http_broker, "POST", "/api/v2/write", body=b"cpu,host=itest-host usage_idle=bad\n",
                        headers={"Authorization": f"Token {http_broker.admin_token}"})
    assert status == 400 and "line 1" in json.loads(body)["message"]


def test_mqtt_telemetry_reads_back_over_http(http_broker):
    ts = int(time.time() * 1000) - 1000
    res = mosquitto_pub(http_broker, "devices/press-1/telemetry",
                        json.dumps({"ts": ts, "values": {"pressure": 4.25}}), qos=1,
                        extra=["-u", "press-1", "-P", http_broker.device_token])
    assert res.returncode == 0, res.stderr
    # QoS 1 is acknowledged after the commit, so the sample is readable now.
    status, body = call(http_broker, "GET", "/api/v1/devices/press-1/series/pressure/raw",
                        token=http_broker.admin_token)
    assert status == 200, body
    assert json.loads(body)["samples"] == [{"ts": ts, "value": 4.25}]
    status, body = call(http_broker, "GET", "/api/v1/devices/press-1/latest", token=http_broker.admin_token)
    assert json.loads(body)["metrics"]["pressure"] == {"ts": ts, "value": 4.25}
    status, body = call(http_broker, "GET", "/api/v1/ingest/stats", token=http_broker.admin_token)
    stats = json.loads(body)
    assert status == 200 and stats["mqtt"]["messages"] >= 1 and stats["store"]["samplesCommitted"] >= 6
