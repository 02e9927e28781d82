"""Every long-running command stops on SIGINT and SIGTERM within 5 s, gracefully.

Each case starts the real binary in its own session (its own data directory, free ports and
TMPDIR), waits until it is clearly running (a line it prints, or its ports), sends the signal and
checks: the exit within 5 s, the exit status (`serve` 0, as its help documents; the others 130 for
SIGINT and 143 for SIGTERM), that no process of its session is left, and what it leaves behind:

* `serve`: every QoS 1 sample acknowledged before the signal is in the store afterwards (and
  `serve --demo` stops as well);
* `simulate`: its devices go offline;
* `bench autonomy`: a partial report marked as interrupted, and no temporary data directory left;
* `bench detect`: the repetitions measured so far, marked as interrupted;
* `eval nab`: every results file written is complete, nothing half-written.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from conftest import BROKER_KIND, free_port, require_prerequisite
from test_auth import TOKEN, add_device, cli, reflex_bin

pytestmark = pytest.mark.skipif(BROKER_KIND != "reflex", reason="Reflex's own commands")

STOP_LIMIT = 5.0  # seconds from the signal to the exit
SIGNALS = (signal.SIGINT, signal.SIGTERM)
STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}
# CPU-bound commands also on one core (`taskset -c 0`), where a loop on Swift's cooperative pool
# would hold its only thread and the signal would never be handled.
CORES = pytest.mark.parametrize("one_core", (False, True), ids=("all-cores", "one-core"))


def cpu_prefix(one_core: bool) -> tuple[str, ...]:
    if not one_core:
        return ()
    require_prerequisite(shutil.which("taskset") is not None, "taskset (util-linux) is not installed")
    return ("taskset", "-c", "0")


class Command:
    """A `reflex` process in its own session with its output in files under `workdir`."""

    def __init__(self, workdir: Path, *args: str, prefix: tuple[str, ...] = ()):
        self.workdir = workdir
        self.tmpdir = workdir / "tmp"
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        self.out_path = workdir / "stdout"
        self.err_path = workdir / "stderr"
        env = dict(os.environ, TMPDIR=str(self.tmpdir))
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen([*prefix, reflex_bin(), *args], stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         cwd=workdir, env=env, start_new_session=True)

    def output(self) -> str:
        return self.out_path.read_text(errors="replace")

    def describe(self) -> str:
        return (f"stdout:\n{self.output()[-4000:]}\nstderr:\n"
                f"{self.err_path.read_text(errors='replace')[-4000:]}")

    def wait_for_output(self, text: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            assert self.proc.poll() is None, f"exited ({self.proc.returncode}) before printing {text!r}\n" \
                                             + self.describe()
            assert time.monotonic() < deadline, f"no {text!r} within {timeout:.0f} s\n" + self.describe()
            time.sleep(0.05)

    def stop(self, sig: int) -> int:
        """Sends `sig`; returns the exit status, failing the test unless it came within STOP_LIMIT s."""
        assert self.proc.poll() is None, f"exited ({self.proc.returncode}) before the signal\n" + self.describe()
        sent = time.monotonic()
        self.proc.send_signal(sig)
        try:
            status = self.proc.wait(STOP_LIMIT)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"still running {STOP_LIMIT:.0f} s after {signal.Signals(sig).name}; killed\n"
                        + self.describe(), pytrace=False)
        took = time.monotonic() - sent
        assert session_processes(self.proc.pid) == [], "processes left in the command's session"
        print(f"{signal.Signals(sig).name}: exit {status} after {took:.2f} s")
        return status

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(5)


def session_processes(sid: int) -> list[int]:
    """Live processes (not zombies) of session `sid`."""
    left = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command name: state, ppid, pgrp, session.
        if int(fields[3]) == sid and fields[0] != "Z":
            left.append(int(entry.name))
    return left


@pytest.fixture
def command(tmp_path):
    started: list[Command] = []

    def start(*args: str, prefix: tuple[str, ...] = ()) -> Command:
        c = Command(tmp_path / f"run-{len(started)}", *args, prefix=prefix)
        started.append(c)
        return c

    yield start
    for c in started:
        if c.proc.poll() is None:
            c.kill()


def wait_for_port(port: int, c: Command, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            assert c.proc.poll() is None, f"exited ({c.proc.returncode}) during startup\n" + c.describe()
            assert time.monotonic() < deadline, f"port {port} not open within {timeout:.0f} s\n" + c.describe()
            time.sleep(0.05)


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_serve_commits_what_it_acknowledged_and_exits_0(command, tmp_path, sig):
    data = tmp_path / "data"
    token = add_device(data, "sig-1")
    mqtt_port, http_port = free_port(), free_port()
    node = command("serve", "--data-dir", str(data), "--mqtt-listen", f"127.0.0.1:{mqtt_port}",
                   "--http-listen", f"127.0.0.1:{http_port}", "--log-level", "warning")
    wait_for_port(mqtt_port, node)
    wait_for_port(http_port, node)

    # A burst of QoS 1 telemetry, still in flight when the signal arrives.
    acked: set[int] = set()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sig-1", protocol=mqtt.MQTTv5)
    client.username_pw_set("sig-1", token)
    client.max_inflight_messages_set(20)
    client.on_publish = lambda c, u, mid, rc, p: (not rc.is_failure) and acked.add(mid)
    client.connect("127.0.0.1", mqtt_port)
    client.loop_start()
    base = int(time.time() * 1000) - 600_000
    sent = {}
    try:
        for i in range(2000):
            info = client.publish("devices/sig-1/telemetry", json.dumps({"ts": base + i, "values": {"n": i}}), qos=1)
            sent[info.mid] = base + i
        deadline = time.monotonic() + 10
        while len(acked) < 50 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(acked) >= 50, "the node acknowledged fewer than 50 samples in 10 s"
        assert node.stop(sig) == 0, node.describe()
    finally:
        client.loop_stop()
        client.disconnect()
    confirmed = sorted(sent[mid] for mid in set(acked))
    stored = json.loads(cli(data, "query", "raw", "sig-1", "n", "--from", str(base), "--limit", "5000", "--json"))
    missing = set(confirmed) - {s["timestamp"] for s in stored}
    assert not missing, f"{len(missing)} of {len(confirmed)} acknowledged samples not stored"
    print(f"{len(confirmed)} acknowledged before the exit, all stored ({len(stored)} stored)")


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_serve_demo_exits_0(command, tmp_path, sig):
    mqtt_port, http_port = free_port(), free_port()
    demo = command("serve", "--demo", "--demo-devices", "2", "--data-dir", str(tmp_path / "demo"),
                   "--mqtt-listen", f"127.0.0.1:{mqtt_port}", "--http-listen", f"127.0.0.1:{http_port}",
                   "--log-level", "warning")
    wait_for_port(http_port, demo)
    time.sleep(1)  # the demo fleet connects and publishes
    assert demo.stop(sig) == 0, demo.describe()


@pytest.fixture(scope="module")
def sim_node(tmp_path_factory):
    """One `reflex serve` for the simulate cases (their devices register in its data directory)."""
    workdir = tmp_path_factory.mktemp("sim-node")
    data = workdir / "data"
    mqtt_port, http_port = free_port(), free_port()
    node = Command(workdir, "serve", "--data-dir", str(data), "--mqtt-listen", f"127.0.0.1:{mqtt_port}",
                   "--http-listen", f"127.0.0.1:{http_port}", "--log-level", "warning")
    wait_for_port(mqtt_port, node)
    deadline = time.monotonic() + 10
    while not TOKEN.search(node.output()) and time.monotonic() < deadline:
        time.sleep(0.05)
    match = TOKEN.search(node.output())
    assert match, "no admin token printed\n" + node.describe()
    node.data, node.port, node.admin_token = data, mqtt_port, match.group(0)
    yield node
    node.stop(signal.SIGTERM)


def statuses(node: Command, devices: list[str]) -> dict[str, bytes]:
    got: dict[str, bytes] = {}
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set("admin", node.admin_token)
    client.on_message = lambda c, u, m: got.__setitem__(m.topic.split("/")[1], bytes(m.payload))
    client.connect("127.0.0.1", node.port)
    client.subscribe("devices/+/status", qos=1)
    client.loop_start()
    deadline = time.monotonic() + 5
    while set(got) != set(devices) and time.monotonic() < deadline:
        time.sleep(0.05)
    client.loop_stop()
    client.disconnect()
    return got


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_simulate_disconnects_its_devices(command, sim_node, sig):
    devices = ["pump-001", "chiller-001"]  # two devices: a pump and a chiller
    sim = command("simulate", "--devices", "2", "--data-dir", str(sim_node.data), "--broker",
                  f"mqtt://127.0.0.1:{sim_node.port}", "--interval", "200ms")
    sim.wait_for_output("Ctrl-C stops")
    deadline = time.monotonic() + 10
    while statuses(sim_node, devices) != {d: b"online" for d in devices}:
        assert time.monotonic() < deadline, "the simulated devices did not come online\n" + sim.describe()
    assert sim.stop(sig) == STATUS[sig], sim.describe()
    assert statuses(sim_node, devices) == {d: b"offline" for d in devices}
    assert "interrupted by" in sim.output(), sim.describe()


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_bench_autonomy_prints_a_partial_report_and_removes_its_data(command, sig):
    bench = command("bench", "autonomy", "--devices", "3", "--duration", "5m", "--faults", "2", "--speed", "4")
    bench.wait_for_output("fleet starting")
    time.sleep(1)  # the devices connect and publish
    assert bench.stop(sig) == STATUS[sig], bench.describe()
    out = bench.output()
    assert f"INTERRUPTED by {signal.Signals(sig).name}" in out, bench.describe()
    assert "decision latency:" in out, bench.describe()
    assert list(bench.tmpdir.iterdir()) == [], "temporary data left behind"


@CORES
@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_bench_detect_prints_what_it_measured(command, sig, one_core):
    # Far more repetitions than fit in the test: it must be interrupted.
    bench = command("bench", "detect", "--series", "200", "--samples", "2000", "--repetitions", "100000",
                    prefix=cpu_prefix(one_core))
    bench.wait_for_output("repetition 1:")
    assert bench.stop(sig) == STATUS[sig], bench.describe()
    out = bench.output()
    assert f"INTERRUPTED by {signal.Signals(sig).name}" in out, bench.describe()
    assert "median" in out, bench.describe()


def nab_file(path: Path, rows: int) -> None:
    start = 1_400_000_000
    lines = ["timestamp,value"] + [
        time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(start + 300 * i)) + f",{(i * 7919) % 101}"
        for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")


@CORES
@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_eval_nab_writes_only_whole_results_files(command, tmp_path, sig, one_core):
    # One generated NAB-format series, linked far more often than can be scored before the signal.
    data = tmp_path / "nab"
    (data / "set").mkdir(parents=True)
    rows = 20_000
    nab_file(tmp_path / "series.csv", rows)
    for i in range(500):
        (data / "set" / f"series-{i:03}.csv").symlink_to(tmp_path / "series.csv")
    out = tmp_path / "results"
    ev = command("eval", "nab", "--data", str(data), "--out", str(out), prefix=cpu_prefix(one_core))
    ev.wait_for_output(f"{rows} rows")
    assert ev.stop(sig) == STATUS[sig], ev.describe()
    assert f"INTERRUPTED by {signal.Signals(sig).name}" in ev.output(), ev.describe()
    written = sorted(p for p in out.rglob("*") if p.is_file())
    assert written, "no results file written"
    assert len(written) < 500, "the evaluation finished before the signal: make it longer"
    for path in written:
        assert path.suffix == ".csv", f"stray file {path}"
        lines = path.read_text().splitlines()
        assert len(lines) == rows + 1 and lines[0] == "timestamp,value,anomaly_score", f"{path} is incomplete"
