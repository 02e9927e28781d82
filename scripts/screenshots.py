#!/usr/bin/env python3
"""Takes the dashboard screenshots in docs/screenshots/ with a real headless Chromium.

Starts `reflex serve` (detection and automation on) on free ports with a temporary data directory
and a rules file, registers a small plant (pumps, compressors, valves, a chiller), backfills a week
of plausible telemetry over MQTT (JSON arrays with timestamps), keeps publishing live readings
(every device acknowledges the commands it receives), then makes the plant interesting: a pump
overheats (an alarm and a `set_speed` command waiting for approval), a compressor's pressure rises
(an alarm and a `vent` command, sent and done), a pump's vibration jumps (anomaly scores), a valve
is taken to manual by an operator, another valve goes offline (fail-safe). Then it signs in with
the admin token and captures each screen. Needs a built binary (`swift build`), Debian's chromium
+ chromium-driver, and pip's selenium + paho-mqtt (`.ci/run` installs them).

    scripts/screenshots.py                     # uses .build/debug/reflex
    REFLEX_BIN=.build/release/reflex scripts/screenshots.py
    scripts/screenshots.py --serve             # only run the plant; prints the URL and the tokens
    scripts/screenshots.py --perf              # 50 devices at 1 Hz: fleet page load and frame timing
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import paho.mqtt.client as mqtt

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs/screenshots"
BIN = Path(os.environ.get("REFLEX_BIN", ROOT / ".build/debug/reflex"))
TOKEN = re.compile(r"rfx_(?:dev|op)_[A-Za-z0-9_-]+")

# id -> (type, labels, metrics with (base, amplitude, noise))
PLANT = {
    "pump-101": ("pump", {"site": "lyon", "line": "A"}, {"temperature": (68, 3, 0.3), "vibration": (0.32, 0.05, 0.02), "pressure": (10.5, 0.6, 0.1)}),
    "pump-102": ("pump", {"site": "lyon", "line": "B"}, {"temperature": (71, 2.5, 0.3), "vibration": (0.41, 0.06, 0.02), "pressure": (10.9, 0.5, 0.1)}),
    "pump-103": ("pump", {"site": "oslo", "line": "A"}, {"temperature": (64, 2, 0.3), "vibration": (0.29, 0.04, 0.02), "pressure": (11.1, 0.4, 0.1)}),
    "compressor-201": ("compressor", {"site": "lyon", "line": "A"}, {"temperature": (82, 4, 0.5), "current": (31, 3, 0.4), "pressure": (7.8, 0.3, 0.05)}),
    "compressor-202": ("compressor", {"site": "oslo", "line": "B"}, {"temperature": (79, 3, 0.5), "current": (29, 2, 0.4), "pressure": (7.6, 0.3, 0.05)}),
    "valve-301": ("valve", {"site": "lyon", "line": "B"}, {"position": (42, 8, 0.5), "flow": (120, 15, 2)}),
    "valve-302": ("valve", {"site": "oslo", "line": "A"}, {"position": (55, 5, 0.5), "flow": (98, 10, 2)}),
    "chiller-401": ("chiller", {"site": "oslo", "line": "B"}, {"temperature": (6.5, 0.8, 0.1), "power": (14, 2, 0.3)}),
}
OFFLINE = {"valve-302"}  # publishes its history, then disconnects (fail-safe)
SILENT = {"chiller-401"}  # registered, never connected
HOT = "pump-102"  # overheats: alarm + set_speed waiting for approval
SHAKY = "pump-101"  # vibration jumps: anomaly scores, a warning alarm
VENTING = "compressor-201"  # pressure rises: alarm + vent, sent and done
MANUAL = "valve-301"  # an operator took it over
STARVED = "pump-103"  # suction pressure drops: a minor alarm, shelved by an operator

RULES = """\
rule: pump-overheat
description: A hot pump slows down, after an operator agrees.
scope: { type: pump }
when: temperature > 85 for 5s
clear: temperature < 80
do:
  - alarm: { type: overheat, severity: major, message: "bearing at {temperature} °C" }
  - command: { name: set_speed, params: { rpm: "max(temperature * 10, 900)" }, bounds: { rpm: [0, 3000] }, ttl: 1h }
interlocks: [ "pressure < 12" ]
approval: true
---
rule: pump-vibration
scope: { type: pump }
when: anomaly(vibration) > 0.9
clear: anomaly(vibration) < 0.3 for 15m
do:
  - alarm: { type: vibration, severity: warning, message: "vibration {vibration} mm/s is unusual" }
---
rule: pump-suction
scope: { type: pump }
when: pressure < 9.5 for 5s
clear: pressure > 10
do:
  - alarm: { type: low-suction, severity: minor, message: "suction pressure {pressure} bar" }
---
rule: compressor-pressure
scope: { type: compressor }
when: pressure > 8.6
clear: pressure < 8.2
do:
  - alarm: { type: high-pressure, severity: critical, message: "discharge pressure {pressure} bar" }
  - command: { name: vent, params: { seconds: 20 } }
cooldown: 10m
---
rule: valve-flow-advice
scope: { type: valve }
when: flow > 125
do:
  - command: { name: set_position, params: { position: 40 } }
dryRun: true
---
failsafe: valve
command: { name: set_position, params: { position: 0 } }
minimumStale: 30s
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(data_dir: Path, *args: str) -> str:
    res = subprocess.run([str(BIN), *args, "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=30)
    if res.returncode != 0:
        sys.exit(f"reflex {' '.join(args)} failed: {res.stderr}")
    return res.stdout


def value(metrics: dict, name: str, t_ms: int, phase: float) -> float:
    base, amp, noise = metrics[name]
    day = math.sin(2 * math.pi * (t_ms / 86_400_000) + phase)
    fast = math.sin(t_ms / 90_000 + phase * 3) * 0.3
    return round(base + amp * (day + fast) + random.gauss(0, noise * 0.4), 4)


class Device:
    """One MQTT connection; acknowledges every command it receives (accepted, then done)."""

    def __init__(self, device: str, token: str, port: int):
        self.id = device
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=device, protocol=mqtt.MQTTv5)
        self.c.username_pw_set(device, token)
        self.c.on_message = self._command
        self.c.on_connect = lambda c, *_: c.subscribe(f"devices/{device}/commands/+", qos=1)
        self.c.connect("127.0.0.1", port, keepalive=30)
        self.c.loop_start()

    def _command(self, client, _userdata, msg) -> None:
        if msg.topic.endswith("/ack"):
            return
        body = json.loads(msg.payload)

        def ack():
            for status, detail in (("accepted", "on it"), ("done", "applied")):
                client.publish(msg.topic + "/ack", json.dumps({"id": body["id"], "status": status, "detail": detail}), qos=1)
                time.sleep(0.4)
        threading.Thread(target=ack, daemon=True).start()

    def publish(self, payload, wait: bool = False, retain: bool = False, topic: str = "telemetry") -> None:
        info = self.c.publish(f"devices/{self.id}/{topic}", json.dumps(payload), qos=1, retain=retain)
        if wait:
            info.wait_for_publish(10)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def backfill(dev: Device, metrics: dict, phase: float, now: int) -> None:
    """A week every 5 minutes, then the last hour every 2 s (the live rate, so the live chart is even)."""
    def points(start: int, end: int, step: int):
        return [{"ts": t, "values": {m: value(metrics, m, t, phase) for m in metrics}} for t in range(start, end, step)]
    week = points(now - 7 * 86_400_000, now - 3_600_000, 300_000)
    hour = points(now - 3_600_000, now - 1_000, 2_000)
    for chunk in (week[:1000], week[1000:], hour[:900], hour[900:]):
        dev.publish(chunk, wait=True)


class Node:
    """`reflex serve` with the plant's devices registered and the rules file in its rules directory."""

    def __init__(self, plant: dict, rules: str = RULES):
        self.work = Path(tempfile.mkdtemp(prefix="reflex-shots-"))
        self.data = self.work / "data"
        (self.data / "rules").mkdir(parents=True)
        (self.data / "rules" / "plant.yaml").write_text(rules)
        self.tokens = {}
        for device, (kind, labels, _) in plant.items():
            args = ["device", "add", device, "--type", kind]
            for k, v in labels.items():
                args += ["--label", f"{k}={v}"]
            self.tokens[device] = TOKEN.search(cli(self.data, *args)).group(0)
        self.viewer = TOKEN.search(cli(self.data, "token", "create", "--role", "viewer", "--name", "viewer")).group(0)
        self.operator = TOKEN.search(cli(self.data, "token", "create", "--role", "operator", "--name", "alice")).group(0)
        self.mqtt_port, self.http_port = free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.http_port}"
        self.out = open(self.work / "stdout", "w+")
        self.proc = subprocess.Popen([str(BIN), "serve", "--data-dir", str(self.data),
                                      "--mqtt-listen", f"127.0.0.1:{self.mqtt_port}",
                                      "--http-listen", f"127.0.0.1:{self.http_port}"],
                                     stdout=self.out, stderr=open(self.work / "stderr", "w"))
        deadline = time.monotonic() + 20
        self.admin = None
        while self.admin is None and time.monotonic() < deadline:
            time.sleep(0.1)
            self.out.seek(0)
            match = TOKEN.search(self.out.read())
            self.admin = match.group(0) if match else None
        if self.admin is None:
            sys.exit("the server printed no admin token")
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.base + "/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)

    def call(self, method: str, path: str, body=None, token: str | None = None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {token or self.admin}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                raw = res.read()
                return res.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            tail = (self.work / "stderr").read_text(errors="replace")[-3000:]
            print(f"warning: reflex serve did not exit within 15 s of SIGTERM; killed. Its log ends:\n{tail}", file=sys.stderr)
            self.proc.kill()
            self.proc.wait(5)
        shutil.rmtree(self.work, ignore_errors=True)


class Plant:
    """The plant's devices: history, live readings every 2 s, and the scripted incidents."""

    def __init__(self, node: Node, plant: dict = PLANT, period: float = 2.0, history: bool = True):
        self.node = node
        self.plant = plant
        self.period = period
        self.devices: dict[str, tuple[Device, dict, float]] = {}
        self.stop_event = threading.Event()
        self.started = time.time()
        now = int(time.time() * 1000)
        for i, (device, (_, _, metrics)) in enumerate(plant.items()):
            if device in SILENT:
                continue
            dev = Device(device, node.tokens[device], node.mqtt_port)
            dev.publish({"firmware": f"3.{i}.2", "program": f"P{1 + i % 3}", "serial": f"RX-{4711 + i}"}, wait=True, retain=True, topic="state")
            if history:
                backfill(dev, metrics, i * 0.7, now)
            self.devices[device] = (dev, metrics, i * 0.7)
        for device in OFFLINE & set(self.devices):
            dev, _, _ = self.devices.pop(device)
            dev.close()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def reading(self, device: str, metrics: dict, t: int, phase: float) -> dict:
        values = {m: value(metrics, m, t, phase) for m in metrics}
        age = time.time() - self.started
        if device == HOT and age > 4:
            values["temperature"] = round(86 + min(4.0, (age - 4) * 0.3) + random.uniform(-0.3, 0.3), 3)
        if device == SHAKY and 6 < age < 30:
            values["vibration"] = round(0.32 + min(1.2, (age - 6) * 0.15) + random.uniform(-0.05, 0.05), 4)
        if device == STARVED and age > 5:
            values["pressure"] = round(9.1 + random.uniform(-0.05, 0.05), 4)
        if device == VENTING and age > 3:
            values["pressure"] = round(8.9 + random.uniform(-0.05, 0.05), 4)
        return values

    def _run(self) -> None:
        while not self.stop_event.is_set():
            t = int(time.time() * 1000)
            for device, (dev, metrics, phase) in list(self.devices.items()):
                dev.publish({"ts": t, "values": self.reading(device, metrics, t, phase)})
            self.stop_event.wait(max(0.05, self.period - (time.time() * 1000 - t) / 1000))

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(5)
        for dev, _, _ in self.devices.values():
            dev.close()


def wait_until(what: str, check, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    sys.exit(f"timed out waiting for {what}")


def shoot(node: Node) -> None:
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver_path:
        sys.exit("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1440,960", "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=driver_path), options=options)
    wait = lambda cond, t=15: WebDriverWait(driver, t, 0.1).until(cond)  # noqa: E731
    base = node.base
    try:
        driver.get(base + "/")
        wait(lambda d: d.find_element(By.ID, "login").is_displayed())
        driver.save_screenshot(str(OUT / "login.png"))
        driver.find_element(By.ID, "token").send_keys(node.admin)
        driver.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
        wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#fleet-rows tr[data-device]")) == len(PLANT))
        wait(lambda d: d.find_element(By.ID, "live").text == "live")
        time.sleep(1.5)
        driver.save_screenshot(str(OUT / "fleet.png"))

        driver.get(f"{base}/#/device/{HOT}?range=hour")
        wait(lambda d: d.find_elements(By.CSS_SELECTOR, ".chart-card canvas[data-points]"))
        time.sleep(3)
        driver.save_screenshot(str(OUT / "device.png"))
        driver.get(f"{base}/#/device/{SHAKY}")
        wait(lambda d: d.find_elements(By.CSS_SELECTOR, ".chart-card canvas[data-points]"))
        time.sleep(5)  # live points arrive
        driver.save_screenshot(str(OUT / "device-live.png"))
        driver.find_element(By.CSS_SELECTOR, "[data-range='week']").click()
        wait(lambda d: "buckets of 1h" in d.find_element(By.CSS_SELECTOR, "[data-foot]").text)
        time.sleep(1.5)
        driver.save_screenshot(str(OUT / "device-week.png"))

        for screen in ("alarms", "decisions", "takeover"):
            driver.get(f"{base}/#/{screen}")
            wait(lambda d: "Loading" not in d.find_element(By.ID, "main").text)
            time.sleep(1)
            if screen == "decisions":  # open the newest decision of the overheat rule
                for entry in driver.find_elements(By.CSS_SELECTOR, "details.audit-entry"):
                    if "pump-overheat" in entry.text or "set_speed" in entry.text:
                        driver.execute_script("arguments[0].open = true", entry)
                        break
                time.sleep(0.3)
            driver.save_screenshot(str(OUT / f"{screen}.png"))

        driver.set_window_size(820, 1180)  # a tablet in portrait
        driver.get(base + "/#/fleet")
        wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#fleet-rows tr[data-device]")) == len(PLANT))
        time.sleep(1.5)
        driver.save_screenshot(str(OUT / "fleet-tablet.png"))
    finally:
        driver.quit()


def stage(node: Node) -> None:
    """Waits for the incidents to show through the API, then an operator takes a valve over."""
    wait_until("the overheat command waiting for approval", lambda: node.call(
        "GET", "/api/v1/commands?state=pending_approval")[1]["commands"], timeout=40)
    wait_until("the vent command done", lambda: [c for c in node.call("GET", f"/api/v1/commands?device={VENTING}")[1]["commands"]
                                                 if c["state"] == "done"], timeout=40)
    wait_until("the vibration alarm", lambda: node.call("GET", f"/api/v1/alarms?device={SHAKY}")[1]["alarms"], timeout=40)
    status, body = node.call("PUT", f"/api/v1/devices/{MANUAL}/override", {"reason": "actuator replacement", "for": "4h"},
                             token=node.operator)
    assert status == 200, body
    alarm = wait_until("the high-pressure alarm", lambda: node.call("GET", f"/api/v1/alarms?device={VENTING}")[1]["alarms"])[0]
    node.call("POST", f"/api/v1/alarms/{alarm['id']}/acknowledge", {"note": "vent cycle running"}, token=node.operator)
    alarm = wait_until("the low-suction alarm", lambda: node.call("GET", f"/api/v1/alarms?device={STARVED}")[1]["alarms"])[0]
    node.call("POST", f"/api/v1/alarms/{alarm['id']}/shelve", {"for": "2h", "reason": "filter change planned"},
              token=node.operator)


# Installed before the page's own scripts: records when the fleet table first lists every device,
# and every requestAnimationFrame interval while `window.__frames` is an array.
PERF_PROBE = """
window.__perf = {};
new MutationObserver(() => {
  if (window.__perf.fleetReady) return;
  if (document.querySelectorAll('#fleet-rows tr[data-device]').length >= %d) window.__perf.fleetReady = performance.now();
}).observe(document, {subtree: true, childList: true});
window.__frames = null;
(function loop(last) {
  requestAnimationFrame((t) => { if (window.__frames) window.__frames.push(t - last); loop(t); });
})(performance.now());
window.__longTasks = [];
new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longTasks.push(e.duration); })
  .observe({type: 'longtask', buffered: true});
"""


def perf(count: int = 50, seconds: float = 10) -> None:
    """`--perf`: `count` devices streaming 3 metrics at 1 Hz; fleet page load and frame timing."""
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    metrics = {"temperature": (70, 3, 0.3), "vibration": (0.3, 0.05, 0.02), "pressure": (10.5, 0.5, 0.1)}
    fleet = {f"pump-{i:03d}": ("pump", {"site": "lyon" if i % 2 else "oslo", "line": "AB"[i % 2]}, metrics)
             for i in range(1, count + 1)}
    node = Node(fleet)
    plant = Plant(node, fleet, period=1.0, history=False)
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1440,960"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=shutil.which("chromedriver")), options=options)
    try:
        time.sleep(20)  # a few minutes of history would not change the fleet page; 20 s fill the live charts
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PERF_PROBE % count})
        driver.get(node.base + "/")
        driver.execute_script("sessionStorage.setItem('reflex.token', arguments[0])", node.admin)
        loads = []
        for _ in range(5):
            driver.get(node.base + "/?%d#/fleet" % len(loads))  # a new document each time
            WebDriverWait(driver, 15, 0.05).until(lambda d: d.execute_script("return window.__perf.fleetReady"))
            nav = driver.execute_script("const n = performance.getEntriesByType('navigation')[0];"
                                        "return [n.domContentLoadedEventEnd, n.loadEventEnd, window.__perf.fleetReady]")
            loads.append(nav)
        print(f"fleet page, {count} devices, 5 loads (ms from navigation start): "
              + "; ".join(f"DOMContentLoaded {a:.0f}, load {b:.0f}, table filled {c:.0f}" for a, b, c in loads))

        def frames(route: str) -> None:
            driver.get(node.base + "/#/" + route)
            time.sleep(3)
            driver.execute_script("window.__frames = []; window.__longTasks = [];")
            time.sleep(seconds)
            intervals, long_tasks = driver.execute_script("const f = window.__frames; window.__frames = null; return [f, window.__longTasks]")
            intervals.sort()
            pct = lambda p: intervals[min(len(intervals) - 1, int(p * len(intervals)))]  # noqa: E731
            print(f"{route}: {len(intervals)} frames in {seconds:.0f} s ({len(intervals) / seconds:.1f}/s); interval "
                  f"p50 {pct(0.5):.1f} ms, p95 {pct(0.95):.1f} ms, p99 {pct(0.99):.1f} ms, max {intervals[-1]:.1f} ms; "
                  f"frames over 50 ms: {sum(1 for x in intervals if x > 50)}; long tasks: {len(long_tasks)}"
                  + (f" (longest {max(long_tasks):.0f} ms)" if long_tasks else ""))
            if route.startswith("device/"):
                points = driver.execute_script("return [...document.querySelectorAll('canvas')].map(c => c.dataset.points)")
                print(f"  charts: {len(points)}, points drawn: {points}")

        frames("fleet")
        frames("device/pump-001")
    finally:
        driver.quit()
        plant.stop()
        node.stop()


def main() -> int:
    if not BIN.exists():
        sys.exit(f"no reflex binary at {BIN}: run `swift build` first or set REFLEX_BIN")
    if "--perf" in sys.argv:
        perf()
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    node = Node(PLANT, RULES)
    plant = None
    try:
        plant = Plant(node)
        if "--serve" in sys.argv:
            print(f"{node.base}/  admin {node.admin}  operator {node.operator}  viewer {node.viewer}", flush=True)
            stage(node)
            print("staged; Ctrl-C to stop", flush=True)
            while True:
                time.sleep(3600)
        stage(node)
        shoot(node)
    except KeyboardInterrupt:
        pass
    finally:
        if plant:
            plant.stop()
        node.stop()
    print(f"screenshots in {OUT.relative_to(ROOT)}: " + ", ".join(sorted(p.name for p in OUT.glob("*.png"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
