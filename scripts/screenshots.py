#!/usr/bin/env python3
"""Takes the dashboard screenshots in docs/screenshots/ with a real headless Chromium.

Starts `reflex serve` on free ports with a temporary data directory, registers a small plant
(pumps, compressors, valves, a chiller), backfills a week of plausible telemetry over MQTT (JSON
arrays with timestamps), keeps publishing live readings, then signs in with the admin token and
captures each screen. Needs a built binary (`swift build`), Debian's chromium + chromium-driver,
and pip's selenium + paho-mqtt (`.ci/run` installs them).

    scripts/screenshots.py                     # uses .build/debug/reflex
    REFLEX_BIN=.build/release/reflex scripts/screenshots.py
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
from pathlib import Path

import paho.mqtt.client as mqtt
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs/screenshots"
BIN = Path(os.environ.get("REFLEX_BIN", ROOT / ".build/debug/reflex"))
TOKEN = re.compile(r"rfx_(?:dev|op)_[A-Za-z0-9_-]+")

# id -> (type, labels, metrics with (base, amplitude, noise))
PLANT = {
    "pump-101": ("pump", {"site": "lyon", "line": "A"}, {"temperature": (68, 3, 0.3), "vibration": (0.32, 0.05, 0.02), "pressure": (11.5, 0.6, 0.1)}),
    "pump-102": ("pump", {"site": "lyon", "line": "B"}, {"temperature": (71, 2.5, 0.3), "vibration": (0.41, 0.06, 0.02), "pressure": (10.9, 0.5, 0.1)}),
    "pump-103": ("pump", {"site": "oslo", "line": "A"}, {"temperature": (64, 2, 0.3), "vibration": (0.29, 0.04, 0.02), "pressure": (12.1, 0.4, 0.1)}),
    "compressor-201": ("compressor", {"site": "lyon", "line": "A"}, {"temperature": (82, 4, 0.5), "current": (31, 3, 0.4), "pressure": (7.8, 0.3, 0.05)}),
    "compressor-202": ("compressor", {"site": "oslo", "line": "B"}, {"temperature": (79, 3, 0.5), "current": (29, 2, 0.4), "pressure": (7.6, 0.3, 0.05)}),
    "valve-301": ("valve", {"site": "lyon", "line": "B"}, {"position": (42, 8, 0.5), "flow": (120, 15, 2)}),
    "valve-302": ("valve", {"site": "oslo", "line": "A"}, {"position": (55, 5, 0.5), "flow": (98, 10, 2)}),
    "chiller-401": ("chiller", {"site": "oslo", "line": "B"}, {"temperature": (6.5, 0.8, 0.1), "power": (14, 2, 0.3)}),
}
OFFLINE = {"valve-302"}  # publishes its history, then disconnects
SILENT = {"chiller-401"}  # registered, never connected


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


def connect(device: str, token: str, port: int) -> mqtt.Client:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=device, protocol=mqtt.MQTTv5)
    c.username_pw_set(device, token)
    c.connect("127.0.0.1", port, keepalive=30)
    c.loop_start()
    return c


def backfill(c: mqtt.Client, device: str, metrics: dict, phase: float, now: int) -> None:
    """A week every 5 minutes, then the last hour every 2 s (the live rate, so the live chart is even)."""
    def points(start: int, end: int, step: int):
        return [{"ts": t, "values": {m: value(metrics, m, t, phase) for m in metrics}} for t in range(start, end, step)]
    week = points(now - 7 * 86_400_000, now - 3_600_000, 300_000)
    hour = points(now - 3_600_000, now - 1_000, 2_000)
    for chunk in (week[:1000], week[1000:], hour[:900], hour[900:]):
        c.publish(f"devices/{device}/telemetry", json.dumps(chunk), qos=1).wait_for_publish(10)


def main() -> int:
    if not BIN.exists():
        sys.exit(f"no reflex binary at {BIN}: run `swift build` first or set REFLEX_BIN")
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver_path:
        sys.exit("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="reflex-shots-"))
    data = work / "data"
    data.mkdir()
    tokens = {}
    for device, (kind, labels, _) in PLANT.items():
        args = ["device", "add", device, "--type", kind]
        for k, v in labels.items():
            args += ["--label", f"{k}={v}"]
        tokens[device] = TOKEN.search(cli(data, *args)).group(0)
    mqtt_port, http_port = free_port(), free_port()
    out = open(work / "stdout", "w+")
    server = subprocess.Popen([str(BIN), "serve", "--data-dir", str(data), "--mqtt-listen", f"127.0.0.1:{mqtt_port}",
                               "--http-listen", f"127.0.0.1:{http_port}"], stdout=out, stderr=open(work / "stderr", "w"))
    stop = threading.Event()
    try:
        deadline = time.monotonic() + 20
        admin = None
        while admin is None and time.monotonic() < deadline:
            time.sleep(0.1)
            out.seek(0)
            match = TOKEN.search(out.read())
            admin = match.group(0) if match else None
        if admin is None:
            sys.exit("the server printed no admin token")
        time.sleep(0.5)
        now = int(time.time() * 1000)
        clients = {}
        for i, (device, (_, _, metrics)) in enumerate(PLANT.items()):
            if device in SILENT:
                continue
            c = connect(device, tokens[device], mqtt_port)
            c.publish(f"devices/{device}/state", json.dumps({"firmware": f"3.{i}.2", "mode": "auto", "serial": f"RX-{4711 + i}"}),
                      qos=1, retain=True).wait_for_publish(10)
            backfill(c, device, metrics, i * 0.7, now)
            clients[device] = (c, metrics, i * 0.7)
        for device in OFFLINE:
            c, _, _ = clients.pop(device)
            c.disconnect()
            c.loop_stop()

        def publish_live():
            while not stop.is_set():
                t = int(time.time() * 1000)
                for device, (c, metrics, phase) in clients.items():
                    c.publish(f"devices/{device}/telemetry",
                              json.dumps({"ts": t, "values": {m: value(metrics, m, t, phase) for m in metrics}}), qos=1)
                stop.wait(2.0)
        threading.Thread(target=publish_live, daemon=True).start()

        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1440,960", "--hide-scrollbars", "--force-device-scale-factor=1"):
            options.add_argument(arg)
        driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=driver_path), options=options)
        wait = lambda cond, t=15: WebDriverWait(driver, t, 0.1).until(cond)  # noqa: E731
        base = f"http://127.0.0.1:{http_port}"
        try:
            driver.get(base + "/")
            wait(lambda d: d.find_element(By.ID, "login").is_displayed())
            driver.save_screenshot(str(OUT / "login.png"))
            driver.find_element(By.ID, "token").send_keys(admin)
            driver.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
            wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#fleet-rows tr[data-device]")) == len(PLANT))
            wait(lambda d: d.find_element(By.ID, "live").text == "live")
            time.sleep(1.5)
            driver.save_screenshot(str(OUT / "fleet.png"))

            driver.get(base + "/#/device/pump-102")
            wait(lambda d: d.find_elements(By.CSS_SELECTOR, ".chart-card canvas[data-points]"))
            time.sleep(7)  # live points arrive
            driver.save_screenshot(str(OUT / "device-live.png"))
            driver.find_element(By.CSS_SELECTOR, "[data-range='week']").click()
            wait(lambda d: "buckets of 1h" in d.find_element(By.CSS_SELECTOR, "[data-foot]").text)
            time.sleep(1)
            driver.save_screenshot(str(OUT / "device-week.png"))

            for screen in ("alarms", "decisions", "takeover"):
                driver.get(f"{base}/#/{screen}")
                wait(lambda d: "Loading" not in d.find_element(By.ID, "main").text)
                time.sleep(1)
                driver.save_screenshot(str(OUT / f"{screen}.png"))

            driver.set_window_size(820, 1180)  # a tablet in portrait
            driver.get(base + "/#/fleet")
            wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#fleet-rows tr[data-device]")) == len(PLANT))
            time.sleep(1.5)
            driver.save_screenshot(str(OUT / "fleet-tablet.png"))
        finally:
            driver.quit()
    finally:
        stop.set()
        server.terminate()
        server.wait(15)
        shutil.rmtree(work, ignore_errors=True)
    print(f"screenshots in {OUT.relative_to(ROOT)}: " + ", ".join(sorted(p.name for p in OUT.glob("*.png"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
