"""The web dashboard in a real headless Chromium (Debian's `chromium` + `chromium-driver`, driven by
selenium), against a real `reflex serve` that devices feed over MQTT (paho) in a background thread.

What the page shows is asserted (text, table rows, chart point counts), not only HTTP codes:
sign-in, the fleet, a device whose chart updates live from the server-sent event feed without a
reload, a viewer who sees no action buttons, and (once the automation API is there) acknowledging
an alarm and a manual override. A last test stops the server while a live stream is open: it must
still exit 0 promptly.

Skipped, with the reason, when chromium, chromedriver or selenium are missing (`.ci/run` installs them).
"""

from __future__ import annotations

import http.client
import json
import math
import random
import shutil
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import BROKER_KIND, BrokerProcess, require_prerequisite
from test_auth import TOKEN, cli, first_admin_token

pytestmark = pytest.mark.skipif(BROKER_KIND != "reflex", reason="the Reflex dashboard")

try:
    import selenium  # noqa: F401
except ImportError:
    selenium = None
require_prerequisite(selenium is not None, "pip install selenium (see .ci/run)")
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

import paho.mqtt.client as mqtt  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
require_prerequisite(bool(CHROMIUM and CHROMEDRIVER), "Debian's chromium and chromium-driver are needed (see .ci/run)")

DEVICES = {  # id -> (type, labels)
    "pump-1": ("pump", {"site": "lyon"}),
    "pump-2": ("pump", {"site": "oslo"}),
    "valve-1": ("valve", {"site": "lyon"}),
}


def add_device(data_dir, device_id: str, device_type: str, labels: dict[str, str]) -> str:
    args = ["device", "add", device_id, "--type", device_type]
    for key, value in labels.items():
        args += ["--label", f"{key}={value}"]
    return TOKEN.search(cli(data_dir, *args)).group(0)


class Publishers:
    """One MQTT connection per device, publishing plausible telemetry every 0.2 s until stopped."""

    def __init__(self, broker, tokens: dict[str, str]):
        self.stop_event = threading.Event()
        self.clients = []
        for device_id, token in tokens.items():
            c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=device_id, protocol=mqtt.MQTTv5)
            c.username_pw_set(device_id, token)
            c.connect(broker.host, broker.port, keepalive=30)
            c.loop_start()
            c.publish(f"devices/{device_id}/state", json.dumps({"firmware": "2.4.1", "mode": "auto", "setpoint": 70}),
                      qos=1, retain=True)
            self.clients.append((device_id, c))
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        step = 0
        while not self.stop_event.is_set():
            now = int(time.time() * 1000)
            for i, (device_id, c) in enumerate(self.clients):
                values = {
                    "temperature": round(70 + 4 * math.sin(step / 15 + i) + random.uniform(-0.4, 0.4), 3),
                    "vibration": round(0.3 + 0.05 * math.sin(step / 7 + i) + random.uniform(-0.02, 0.02), 4),
                }
                c.publish(f"devices/{device_id}/telemetry", json.dumps({"ts": now, "values": values}), qos=1)
            step += 1
            self.stop_event.wait(0.2)

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(5)
        for _, c in self.clients:
            c.disconnect()
            c.loop_stop()


@pytest.fixture(scope="module")
def dash(tmp_path_factory, tls_files):
    b = BrokerProcess("reflex", tmp_path_factory.mktemp("dashboard"), tls_files)
    b.allow_anonymous = False
    tokens = {d: add_device(b.data_dir, d, t, labels) for d, (t, labels) in DEVICES.items()}
    b.viewer_token = TOKEN.search(cli(b.data_dir, "token", "create", "--role", "viewer", "--name", "viewer")).group(0)
    # A rule that raises an alarm on the telemetry the publishers send (66..74 °C), for the alarm tests.
    (b.data_dir / "rules").mkdir(exist_ok=True)
    (b.data_dir / "rules" / "dashboard-test.yaml").write_text(
        "rule: dashboard-test-hot\n"
        "scope: { devices: [pump-1] }\n"
        "when: temperature > 60\n"
        "do:\n"
        "  - alarm: { type: hot, severity: major, message: \"temperature {temperature}\" }\n"
    )
    b.start()
    b.admin_token = first_admin_token(b)
    b.base = f"http://127.0.0.1:{b.http_port}"
    publishers = Publishers(b, tokens)
    yield b
    publishers.stop()
    if b.alive():
        b.stop()


@pytest.fixture(scope="module")
def browser(dash):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000", "--disable-extensions", "--no-first-run"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


def call(dash, method: str, path: str, token: str | None, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(dash.base + path, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            raw = res.read()
            return res.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            return err.code, json.loads(raw)
        except ValueError:
            return err.code, {}


def wait(driver, condition, timeout: float = 10, message: str = ""):
    # The page re-renders tables and lists as data arrives: an element may go stale between
    # finding it and reading it; the condition is then simply checked again.
    return WebDriverWait(driver, timeout, poll_frequency=0.1,
                         ignored_exceptions=(StaleElementReferenceException,)).until(condition, message)


def sign_in(driver, dash, token: str) -> None:
    driver.get(dash.base + "/#/fleet")
    driver.execute_script("sessionStorage.clear()")
    driver.refresh()  # a fresh page without a token shows the sign-in form
    field = wait(driver, lambda d: d.find_element(By.ID, "token") if d.find_element(By.ID, "login").is_displayed() else None)
    field.send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
    wait(driver, lambda d: d.find_element(By.ID, "shell").is_displayed(), message="the shell did not appear after sign-in")


def fleet_rows(driver) -> dict[str, str]:
    """The fleet table's rows as shown (device id -> row text), read in one step."""
    rows = driver.execute_script(
        "return [...document.querySelectorAll('#fleet-rows tr[data-device]')].map(r => [r.dataset.device, r.innerText])")
    return dict(rows)


def test_static_files_are_public_and_cacheable(dash):
    with urllib.request.urlopen(dash.base + "/", timeout=5) as res:
        assert res.status == 200
        assert res.headers["Content-Type"].startswith("text/html")
        etag = res.headers["ETag"]
        assert "<title>Reflex</title>" in res.read().decode()
    req = urllib.request.Request(dash.base + "/", headers={"If-None-Match": etag})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)
    assert err.value.code == 304
    status, body = call(dash, "GET", "/api/v1/fleet", None)
    assert status == 401 and body["error"]["code"] == "unauthorized"


def test_sign_in_rejects_a_bad_token_then_shows_the_fleet(dash, browser):
    browser.get(dash.base + "/")
    browser.execute_script("sessionStorage.clear()")
    browser.refresh()
    field = wait(browser, lambda d: d.find_element(By.ID, "token"))
    field.send_keys("rfx_op_not-a-token")
    browser.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
    wait(browser, lambda d: "not valid" in d.find_element(By.CSS_SELECTOR, "#login .error-text").text)
    assert not browser.find_element(By.ID, "shell").is_displayed()

    sign_in(browser, dash, dash.admin_token)
    assert "admin" in browser.find_element(By.ID, "who").text
    wait(browser, lambda d: set(fleet_rows(d)) == set(DEVICES), message="the fleet table does not list the devices")
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=device-count]").text == "3")
    # Devices are connected and streaming: online, fresh, with their latest values.
    wait(browser, lambda d: all("online" in text and "temperature" in text for text in fleet_rows(d).values()),
         message=f"not every device shows online with values: {fleet_rows(browser)}")
    wait(browser, lambda d: d.find_element(By.ID, "live").text == "live", message="the live feed is not connected")
    # Search and the type filter narrow the table.
    search = browser.find_element(By.ID, "fleet-search")
    search.send_keys("valve")
    wait(browser, lambda d: set(fleet_rows(d)) == {"valve-1"})
    search.send_keys(Keys.CONTROL, "a")
    search.send_keys("site=lyon")  # replaces the selection, as typing does
    wait(browser, lambda d: set(fleet_rows(d)) == {"pump-1", "valve-1"})
    search.send_keys(Keys.CONTROL, "a")
    search.send_keys(Keys.BACKSPACE)
    wait(browser, lambda d: set(fleet_rows(d)) == set(DEVICES))
    browser.execute_script("const s = document.getElementById('fleet-type'); s.value = 'pump';"
                           "s.dispatchEvent(new Event('input'));")
    wait(browser, lambda d: set(fleet_rows(d)) == {"pump-1", "pump-2"})


def test_device_chart_updates_live_without_reload(dash, browser):
    sign_in(browser, dash, dash.admin_token)
    wait(browser, lambda d: "pump-1" in fleet_rows(d))
    browser.find_element(By.CSS_SELECTOR, "#fleet-rows tr[data-device='pump-1'] a").click()
    wait(browser, lambda d: d.find_element(By.ID, "dev-title").text == "pump-1")
    browser.execute_script("window.__noReload = 'still here'")
    card = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".chart-card[data-metric='temperature']"))
    assert browser.find_element(By.CSS_SELECTOR, ".chart-card[data-metric='vibration']")
    canvas = card.find_element(By.TAG_NAME, "canvas")
    wait(browser, lambda d: int(canvas.get_attribute("data-points") or 0) > 0, message="the chart drew no points")
    first_points = int(canvas.get_attribute("data-points"))
    first_last = canvas.get_attribute("data-last")
    first_text = card.find_element(By.CSS_SELECTOR, "[data-latest]").text
    # The chart grows and its latest value moves as telemetry streams in (5 samples/s).
    wait(browser, lambda d: int(canvas.get_attribute("data-points")) >= first_points + 5
         and canvas.get_attribute("data-last") != first_last, timeout=10,
         message="the chart did not update from the live feed")
    wait(browser, lambda d: card.find_element(By.CSS_SELECTOR, "[data-latest]").text not in ("", "–", first_text))
    assert browser.execute_script("return window.__noReload") == "still here"
    # Latest state attributes (retained devices/pump-1/state) and status.
    wait(browser, lambda d: "2.4.1" in d.find_element(By.ID, "dev-state").text)
    assert "online" in browser.find_element(By.ID, "dev-meta").text
    # Time ranges come from rollups.
    browser.find_element(By.CSS_SELECTOR, "[data-range='day']").click()
    wait(browser, lambda d: "buckets of 5m" in card.find_element(By.CSS_SELECTOR, "[data-foot]").text)


def test_screens_degrade_when_automation_is_missing(dash, browser):
    sign_in(browser, dash, dash.admin_token)
    status, _ = call(dash, "GET", "/api/v1/alarms", dash.admin_token)
    for screen in ("alarms", "decisions", "takeover"):
        browser.get(f"{dash.base}/#/{screen}")
        heading = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "main h1"))
        assert heading.text in ("Alarms", "Decisions", "Take over")
        if status == 404:
            wait(browser, lambda d: "not enabled" in d.find_element(By.ID, "main").text,
                 message=f"#{screen} does not say that automation is not enabled")
        assert "failed" not in browser.find_element(By.ID, "main").text.lower()


def test_viewer_sees_no_action_buttons(dash, browser):
    sign_in(browser, dash, dash.viewer_token)
    assert "viewer" in browser.find_element(By.ID, "who").text
    browser.get(f"{dash.base}/#/device/pump-1")
    wait(browser, lambda d: d.find_element(By.ID, "dev-override").text != "")
    assert not browser.find_elements(By.CSS_SELECTOR, "#dev-override button")
    browser.get(f"{dash.base}/#/alarms")
    wait(browser, lambda d: "Loading" not in d.find_element(By.ID, "alarms-body").text)
    assert not browser.find_elements(By.CSS_SELECTOR, "#alarms-body button")
    browser.get(f"{dash.base}/#/takeover")
    wait(browser, lambda d: "Loading" not in d.find_element(By.ID, "overrides").text)
    assert not browser.find_elements(By.CSS_SELECTOR, "#overrides button, #approvals button, #autonomy button")


def test_the_api_refuses_a_viewer_every_action(dash):
    """Whatever the page shows, the routes it calls refuse a viewer."""
    attempts = [
        ("PUT", "/api/v1/devices/pump-1/override", {"reason": "viewer try", "for": "10m"}),
        ("DELETE", "/api/v1/devices/pump-1/override", None),
        ("POST", "/api/v1/alarms/any/acknowledge", {}),
        ("POST", "/api/v1/alarms/any/shelve", {"for": "1h", "reason": "x"}),
        ("PUT", "/api/v1/autonomy", {"enabled": False, "reason": "viewer try"}),
        ("POST", "/api/v1/commands/any/approve", {}),
    ]
    answered = {}
    for method, path, body in attempts:
        status, _ = call(dash, method, path, dash.viewer_token, body)
        answered[f"{method} {path}"] = status
        assert status in (403, 404), f"{method} {path} as viewer: {status}"
    assert all(s == 403 for s in answered.values()), answered


def test_acknowledge_an_alarm(dash, browser):
    status, body = call(dash, "GET", "/api/v1/alarms?state=active", dash.admin_token)
    assert status == 200, body
    active = body.get("alarms", [])
    deadline = time.monotonic() + 15
    while not active and time.monotonic() < deadline:  # the fixture's rule raises one on pump-1
        time.sleep(0.2)
        active = call(dash, "GET", "/api/v1/alarms?state=active", dash.admin_token)[1].get("alarms", [])
    assert active, "the fixture's rule 'dashboard-test-hot' raised no alarm on pump-1"
    alarm = active[0]
    sign_in(browser, dash, dash.admin_token)
    browser.get(f"{dash.base}/#/alarms")
    row = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, f"tr[data-alarm='{alarm['id']}']"))
    row.find_element(By.CSS_SELECTOR, "[data-act=ack]").click()
    dialog = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "dialog.confirm"))
    dialog.find_element(By.NAME, "note").send_keys("seen from the browser test")
    dialog.find_element(By.CSS_SELECTOR, "[data-confirm]").click()
    wait(browser, lambda d: "acknowledged" in d.find_element(By.CSS_SELECTOR, f"tr[data-alarm='{alarm['id']}']").text)
    status, after = call(dash, "GET", f"/api/v1/alarms/{alarm['id']}", dash.admin_token)
    assert status == 200 and after["state"] == "acknowledged"


def test_set_and_release_manual_override(dash, browser):
    status, body = call(dash, "GET", "/api/v1/devices/pump-2/override", dash.admin_token)
    assert status == 200, body
    sign_in(browser, dash, dash.admin_token)
    browser.get(f"{dash.base}/#/device/pump-2")
    button = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#dev-override [data-action=manual]"))
    button.click()
    dialog = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "dialog.confirm"))
    dialog.find_element(By.NAME, "reason").send_keys("browser test maintenance")
    dialog.find_element(By.CSS_SELECTOR, "[data-confirm]").click()
    wait(browser, lambda d: "manual" in d.find_element(By.ID, "dev-override").text)
    _, override = call(dash, "GET", "/api/v1/devices/pump-2/override", dash.admin_token)
    assert override["mode"] == "manual" and override["reason"] == "browser test maintenance"
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#dev-override [data-action=release]")).click()
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "dialog.confirm [data-confirm]")).click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#dev-override [data-action=manual]"))
    _, override = call(dash, "GET", "/api/v1/devices/pump-2/override", dash.admin_token)
    assert override["mode"] == "auto"


def test_event_stream_over_http_and_clean_shutdown(dash, browser):
    """Last in the module: stops the server while a live stream is open."""
    browser.get("about:blank")  # the page's own stream closes
    conn = http.client.HTTPConnection("127.0.0.1", dash.http_port, timeout=10)
    conn.request("GET", "/api/v1/events?device=valve-1", headers={"Authorization": f"Bearer {dash.viewer_token}"})
    res = conn.getresponse()
    assert res.status == 200 and res.getheader("Content-Type").startswith("text/event-stream")
    seen = b""
    deadline = time.monotonic() + 10
    while b"event: telemetry" not in seen and time.monotonic() < deadline:
        seen += res.read1(4096)
    assert b"event: telemetry" in seen and b'"device":"valve-1"' in seen and b"pump-1" not in seen
    started = time.monotonic()
    dash.stop()  # SIGTERM: must exit 0 although the stream is open (the feed ends on graceful shutdown)
    elapsed = time.monotonic() - started
    print(f"stopped in {elapsed:.2f} s with a live stream open")
    assert elapsed < 5, f"shutdown took {elapsed:.1f} s: the live stream held it up"
    rest = b""
    try:
        while chunk := res.read1(4096):
            rest += chunk
    except (http.client.IncompleteRead, ConnectionError, OSError):
        pass
    conn.close()
