"""Fixtures for the MQTT integration suite.

The `broker` fixture starts a real broker process on free loopback ports:

* by default the Reflex binary (`REFLEX_BIN`, default `.build/debug/reflex` under the repo root):
  `reflex serve --mqtt-listen 127.0.0.1:P --data-dir D --mqtt-tls-listen 127.0.0.1:T
  --tls-cert C --tls-key K --allow-anonymous` with `REFLEX_MQTT_SYS_INTERVAL=1` in its environment;
* with `REFLEX_TEST_BROKER=mosquitto`, Debian's `mosquitto -c <generated conf>` with equivalent
  listeners, so the suite itself can be validated against a known broker.

`REFLEX_TEST_STORE=postgres` runs every Reflex node on PostgreSQL instead of SQLite: one
throwaway cluster for the session (postgres.py), a fresh database per node, given to the node and
to the CLI the tests run beside it (`store_env(data_dir)`) as `REFLEX_STORE`.

One broker runs per test module; `restart()` and `kill9_restart()` keep its ports and data dir.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

BROKER_KINDS = ("reflex", "mosquitto")
BROKER_KIND = os.environ.get("REFLEX_TEST_BROKER", "reflex").strip().lower() or "reflex"
if BROKER_KIND not in BROKER_KINDS:
    # A typo must not turn into a run against no broker, or into skips that look like a pass.
    raise pytest.UsageError(f"REFLEX_TEST_BROKER={BROKER_KIND!r} is not a broker this suite knows; "
                            f"use one of {', '.join(BROKER_KINDS)}")
# In CI (CI=true) a missing prerequisite fails the run instead of skipping the tests that need it.
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
STORE_KINDS = ("sqlite", "postgres")
STORE_KIND = os.environ.get("REFLEX_TEST_STORE", "sqlite").strip().lower() or "sqlite"
if STORE_KIND not in STORE_KINDS:
    raise pytest.UsageError(f"REFLEX_TEST_STORE={STORE_KIND!r} is not a store this suite knows; "
                            f"use one of {', '.join(STORE_KINDS)}")
START_TIMEOUT = float(os.environ.get("REFLEX_TEST_START_TIMEOUT", "20"))
STOP_TIMEOUT = 10.0
# Hard upper bound for any single test, so that nothing can hang the suite (SIGALRM).
TEST_HARD_TIMEOUT = int(os.environ.get("REFLEX_TEST_HARD_TIMEOUT", "60"))
MAX_PACKET_SIZE = 1_048_576  # Reflex's default; mosquitto is configured to the same value.


def require_prerequisite(available: bool, what: str) -> None:
    """Skips the calling test module when `what` is missing on a developer's machine, and fails the
    run in CI (`CI=true`), where .ci/run installs everything and a skip would hide a failure."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} (CI=true: a missing prerequisite is an error, see .ci/run)", pytrace=False)
    pytest.skip(what, allow_module_level=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_SESSION_CLUSTER = None
_NODE_STORES: dict[Path, str] = {}


def _session_cluster():
    """The PostgreSQL cluster of REFLEX_TEST_STORE=postgres, started at first use, stopped at exit."""
    global _SESSION_CLUSTER
    if _SESSION_CLUSTER is None:
        import atexit

        from postgres import PostgresCluster, binaries

        require_prerequisite(binaries() is not None, "REFLEX_TEST_STORE=postgres needs PostgreSQL (initdb)")
        _SESSION_CLUSTER = PostgresCluster()
        atexit.register(_SESSION_CLUSTER.close)
    return _SESSION_CLUSTER


def store_env(data_dir: Path) -> dict[str, str]:
    """The environment a CLI command beside the node of `data_dir` needs to reach that node's store
    (REFLEX_STORE under REFLEX_TEST_STORE=postgres; nothing on SQLite, where --data-dir says it)."""
    url = _NODE_STORES.get(Path(data_dir).resolve())
    return {"REFLEX_STORE": url} if url else {}


def _run(cmd: list[str], cwd: Path) -> None:
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stderr}")


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory) -> dict[str, str]:
    """A self-signed CA and a server certificate for localhost / 127.0.0.1, made with openssl."""
    d = tmp_path_factory.mktemp("pki")
    (d / "ca.cnf").write_text(
        "[req]\ndistinguished_name=dn\nx509_extensions=v3_ca\nprompt=no\n"
        "[dn]\nCN=Reflex Test CA\n"
        "[v3_ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
        "subjectKeyIdentifier=hash\n"
    )
    (d / "server.ext").write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid,issuer\n"
    )
    _run(["openssl", "req", "-x509", "-config", "ca.cnf", "-newkey", "rsa:2048", "-nodes",
          "-days", "2", "-keyout", "ca.key", "-out", "ca.crt"], d)
    _run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
          "-out", "server.csr", "-subj", "/CN=localhost"], d)
    _run(["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
          "-CAcreateserial", "-days", "2", "-out", "server.crt", "-extfile", "server.ext"], d)
    return {"ca": str(d / "ca.crt"), "cert": str(d / "server.crt"), "key": str(d / "server.key")}


class BrokerProcess:
    """A broker process under test. Offers host, port, tls_port, ca_file, restart(), kill9_restart()."""

    host = "127.0.0.1"

    def __init__(self, kind: str, workdir: Path, tls: dict[str, str], env: dict[str, str] | None = None):
        self.kind = kind
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.tls = tls
        self.ca_file = tls["ca"]
        self.port = free_port()
        self.tls_port = free_port()
        while self.tls_port == self.port:
            self.tls_port = free_port()
        # Reflex's HTTP API gets its own port too (its default 0.0.0.0:8080 would collide between brokers).
        self.http_port = free_port()
        while self.http_port in (self.port, self.tls_port):
            self.http_port = free_port()
        self.extra_env = dict(env or {})
        if kind == "reflex" and STORE_KIND == "postgres" and "REFLEX_STORE" not in self.extra_env:
            cluster = _session_cluster()
            self.extra_env["REFLEX_STORE"] = cluster.url(cluster.create_database("node"))
        if "REFLEX_STORE" in self.extra_env:
            _NODE_STORES[self.data_dir.resolve()] = self.extra_env["REFLEX_STORE"]
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.stderr_path: Path | None = None
        # The suite connects without credentials; test_auth.py turns this off for its own broker.
        self.allow_anonymous = True

    # -- command lines -------------------------------------------------------------------------
    def _command(self) -> list[str]:
        if self.kind == "mosquitto":
            conf = self.workdir / "mosquitto.conf"
            conf.write_text("\n".join([
                "per_listener_settings false",
                "allow_anonymous true",
                # As root, mosquitto would switch to user 'mosquitto', which cannot read our temp dirs.
                *(["user root"] if os.geteuid() == 0 else []),
                "persistence true",
                f"persistence_location {self.data_dir}/",
                "autosave_interval 1",
                "max_queued_messages 100000",
                f"max_packet_size {MAX_PACKET_SIZE}",
                "sys_interval 1",
                "log_dest stderr",
                "log_type error",
                "log_type warning",
                "log_type notice",
                f"listener {self.port} 127.0.0.1",
                f"listener {self.tls_port} 127.0.0.1",
                f"cafile {self.tls['ca']}",
                f"certfile {self.tls['cert']}",
                f"keyfile {self.tls['key']}",
                "",
            ]))
            return ["mosquitto", "-c", str(conf)]
        binary = os.environ.get("REFLEX_BIN", ".build/debug/reflex")
        path = Path(binary)
        if not path.is_absolute():
            path = REPO_ROOT / path
        if not path.exists():
            pytest.fail(
                f"reflex binary not found at {path}: run `swift build` first, set REFLEX_BIN, "
                "or run the suite against mosquitto with REFLEX_TEST_BROKER=mosquitto",
                pytrace=False,
            )
        return [str(path), "serve",
                "--mqtt-listen", f"127.0.0.1:{self.port}",
                "--data-dir", str(self.data_dir),
                "--mqtt-tls-listen", f"127.0.0.1:{self.tls_port}",
                "--tls-cert", self.tls["cert"], "--tls-key", self.tls["key"],
                "--http-listen", f"127.0.0.1:{self.http_port}",
                *(["--allow-anonymous"] if self.allow_anonymous else [])]

    # -- lifecycle -------------------------------------------------------------------------------
    def stderr_text(self) -> str:
        if self.stderr_path and self.stderr_path.exists():
            return self.stderr_path.read_text(errors="replace")[-8000:]
        return ""

    def start(self) -> None:
        self.starts += 1
        cmd = self._command()
        self.stderr_path = self.workdir / f"broker-{self.starts}.stderr"
        env = dict(os.environ)
        env.setdefault("REFLEX_MQTT_SYS_INTERVAL", "1")
        env.update(self.extra_env)
        with open(self.stderr_path, "wb") as err, open(self.workdir / f"broker-{self.starts}.stdout", "wb") as out:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         cwd=self.workdir, env=env, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        pending = {self.port, self.tls_port} | ({self.http_port} if self.kind == "reflex" else set())
        while pending:
            if self.proc.poll() is not None:
                pytest.fail(f"{self.kind} exited with status {self.proc.returncode} during startup.\n"
                            f"command: {' '.join(cmd)}\nstderr:\n{self.stderr_text()}", pytrace=False)
            for p in list(pending):
                try:
                    with socket.create_connection((self.host, p), timeout=0.5):
                        pending.discard(p)
                except OSError:
                    pass
            if pending and time.monotonic() > deadline:
                self._kill()
                pytest.fail(f"{self.kind} did not accept connections on port(s) {sorted(pending)} within "
                            f"{START_TIMEOUT:.0f}s.\ncommand: {' '.join(cmd)}\nstderr:\n{self.stderr_text()}",
                            pytrace=False)
            if pending:
                time.sleep(0.05)

    def _kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int:
        """SIGTERM and wait; fails the test unless the broker exits 0 within 10 s."""
        assert self.proc is not None
        if self.proc.poll() is not None:
            pytest.fail(f"{self.kind} had already exited with status {self.proc.returncode}.\n"
                        f"stderr:\n{self.stderr_text()}", pytrace=False)
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._kill()
            pytest.fail(f"{self.kind} did not exit within {STOP_TIMEOUT:.0f}s of SIGTERM.\n"
                        f"stderr:\n{self.stderr_text()}", pytrace=False)
        if rc != 0:
            pytest.fail(f"{self.kind} exited with status {rc} after SIGTERM (expected 0).\n"
                        f"stderr:\n{self.stderr_text()}", pytrace=False)
        return rc

    def restart(self) -> None:
        """Graceful restart: SIGTERM, wait for exit 0, start again with the same ports and data dir."""
        self.stop()
        self.start()

    def kill9_restart(self) -> None:
        """Crash restart: SIGKILL, then start again with the same ports and data dir."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(STOP_TIMEOUT)
        self.start()


def _make_broker(tmp_path_factory, tls_files, name: str, env: dict[str, str] | None = None):
    b = BrokerProcess(BROKER_KIND, tmp_path_factory.mktemp(name), tls_files, env)
    b.start()
    return b


@pytest.fixture(scope="module")
def broker(tmp_path_factory, tls_files):
    """One broker per test module (restart tests restart it in place)."""
    b = _make_broker(tmp_path_factory, tls_files, "broker")
    yield b
    b.stop()


@pytest.fixture(autouse=True)
def _hard_timeout_and_liveness(request):
    """No test may hang: SIGALRM after TEST_HARD_TIMEOUT s. And the broker must survive every test."""

    def on_alarm(signum, frame):
        raise TimeoutError(f"test exceeded the hard limit of {TEST_HARD_TIMEOUT}s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TEST_HARD_TIMEOUT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    b = request.node.funcargs.get("broker")
    if b is not None:
        if not b.alive():
            pytest.fail(f"the broker died during this test (status {b.proc.returncode}).\n"
                        f"stderr:\n{b.stderr_text()}", pytrace=False)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if BROKER_KIND != "reflex" and item.get_closest_marker("reflex_only"):
            item.add_marker(pytest.mark.skip(reason=f"Reflex-specific; broker under test is {BROKER_KIND}"))
        m = item.get_closest_marker("mosquitto_xfail")
        if BROKER_KIND == "mosquitto" and m is not None:
            reason = m.kwargs.get("reason") or (m.args[0] if m.args else "mosquitto deviates from the spec")
            item.add_marker(pytest.mark.xfail(reason=f"mosquitto: {reason}", strict=False))


def pytest_report_header(config):
    return f"broker under test: {BROKER_KIND}" + (
        "" if BROKER_KIND != "reflex" else f" ({os.environ.get('REFLEX_BIN', '.build/debug/reflex')}), store: {STORE_KIND}")


@pytest.fixture
def clients(broker):
    """Factory of connected paho clients (helpers.MqttClient), all closed at teardown."""
    from helpers import Clients

    c = Clients(broker)
    yield c
    c.close()


@pytest.fixture
def topic():
    """A topic prefix unique to this test, so tests sharing a broker never see each other's messages."""
    from helpers import unique

    return unique()


@pytest.fixture(scope="session")
def postgres_cluster():
    """One throwaway PostgreSQL cluster for the session (see postgres.py); each test that needs one
    makes its own database with `create_database()`. Skipped without PostgreSQL, failed in CI."""
    from postgres import PostgresCluster, binaries

    require_prerequisite(binaries() is not None, "PostgreSQL is not installed (initdb): apt-get install postgresql")
    cluster = PostgresCluster()
    yield cluster
    cluster.close()
