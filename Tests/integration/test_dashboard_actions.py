"""The dashboard's actions in a real headless Chromium against a real `reflex serve` with detection
and automation on and a rules file: two pumps run hot, so the overheat rule raises an alarm on each
and queues a `set_speed` command that waits for approval; the devices publish over MQTT (paho) and
acknowledge the commands they receive.

Asserted on what the page shows (text), then checked through the API:
- the alarms console: acknowledge with a note (state changes on the page), add a note, shelve with
  an expiry and unshelve, and the device link opens the device page at the alarm's time;
- take over: set a device to manual with a reason and an expiry, see the fleet and the device
  page say manual, release it, see auto; the decisions page shows both operator actions;
- approve one pending command and reject the other: they leave the approval list and the
  device page shows the approved one's lifecycle moving on;
- the global autonomy switch off and on again, as admin (the fleet tile says OFF meanwhile);
- a viewer sees no action button anywhere, and every action route the page uses answers 403.

A failed wait reports whether the node still answers. "/health timed out" there is the whole node
deadlocked, not the page: `Broadcast.publish` yields to subscribers while holding its lock, and a
live-feed client that goes away (a page reload) cancels its subscription, whose `onTermination`
takes that lock while the Swift runtime holds the cancelled task's status lock, which the yield
needs to resume the task (seen with gdb, 2026-11-26; fix: yield outside the lock).
"""

from __future__ import annotations

import json
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
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

import paho.mqtt.client as mqtt  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
require_prerequisite(bool(CHROMIUM and CHROMEDRIVER), "Debian's chromium and chromium-driver are needed (see .ci/run)")

RULES = """\
rule: pump-overheat
scope: { type: pump }
when: temperature > 85
clear: temperature < 80
do:
  - alarm: { type: overheat, severity: major, message: "bearing at {temperature} °C" }
  - command: { name: set_speed, params: { rpm: 900 }, ttl: 10m }
interlocks: [ "pressure < 12" ]
approval: true
"""

HOT = ("pump-1", "pump-2")  # overheat: an alarm and a pending command each
COOL = "pump-3"  # the one an operator takes over


class Devices:
    """One MQTT connection per device, publishing every 0.5 s and acknowledging commands."""

    def __init__(self, broker, tokens: dict[str, str]):
        self.stop_event = threading.Event()
        self.clients = {}
        for device_id, token in tokens.items():
            c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=device_id, protocol=mqtt.MQTTv5)
            c.username_pw_set(device_id, token)
            c.on_message = self._ack
            c.connect(broker.host, broker.port, keepalive=30)
            c.subscribe(f"devices/{device_id}/commands/+", qos=1)
            c.loop_start()
            c.publish(f"devices/{device_id}/state", json.dumps({"firmware": "2.4.1", "setpoint": 70}), qos=1, retain=True)
            self.clients[device_id] = c
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @staticmethod
    def _ack(client, _userdata, msg) -> None:
        if msg.topic.endswith("/ack"):
            return
        command = json.loads(msg.payload)
        client.publish(msg.topic + "/ack", json.dumps({"id": command["id"], "status": "done", "detail": "speed set"}), qos=1)

    def _run(self) -> None:
        step = 0
        while not self.stop_event.is_set():
            now = int(time.time() * 1000)
            for device_id, c in self.clients.items():
                temperature = 91.5 if device_id in HOT else 70 + (step % 5) * 0.2
                values = {"temperature": temperature, "pressure": 9.8, "vibration": 0.3 + (step % 3) * 0.01}
                c.publish(f"devices/{device_id}/telemetry", json.dumps({"ts": now, "values": values}), qos=1)
            step += 1
            self.stop_event.wait(0.5)

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(5)
        for c in self.clients.values():
            c.disconnect()
            c.loop_stop()


@pytest.fixture(scope="module")
def node(tmp_path_factory, tls_files):
    b = BrokerProcess("reflex", tmp_path_factory.mktemp("dashboard-actions"), tls_files)
    b.allow_anonymous = False
    tokens = {}
    for device_id in (*HOT, COOL):
        out = cli(b.data_dir, "device", "add", device_id, "--type", "pump", "--label", "site=lyon")
        tokens[device_id] = TOKEN.search(out).group(0)
    (b.data_dir / "rules").mkdir(parents=True, exist_ok=True)
    (b.data_dir / "rules" / "pumps.yaml").write_text(RULES)
    b.viewer_token = TOKEN.search(cli(b.data_dir, "token", "create", "--role", "viewer", "--name", "watcher")).group(0)
    b.operator_token = TOKEN.search(cli(b.data_dir, "token", "create", "--role", "operator", "--name", "alice")).group(0)
    b.start()
    b.admin_token = first_admin_token(b)
    b.base = f"http://127.0.0.1:{b.http_port}"
    devices = Devices(b, tokens)
    NODE["node"] = b
    # The rule has fired on both hot pumps: two alarms, two commands waiting for approval.
    wait_for("two pending commands", lambda: len(call(b, "GET", "/api/v1/commands?state=pending_approval",
                                                      b.admin_token)[1].get("commands", [])) == 2)
    yield b
    devices.stop()
    b.stop()


@pytest.fixture(scope="module")
def browser(node):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000", "--disable-extensions", "--no-first-run"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


def call(node, method: str, path: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(node.base + path, data=data, method=method)
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


def wait_for(what: str, check, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


NODE = {}  # the module's node, for the diagnostics of a failed wait


def node_health() -> str:
    """Whether the node still answers (a failed wait says so: the page or the node?)."""
    node = NODE.get("node")
    if node is None:
        return "no node"
    answers = []
    for path in ("/health", "/api/v1/whoami", "/api/v1/autonomy"):
        req = urllib.request.Request(node.base + path, headers={"Authorization": f"Bearer {node.admin_token}"})
        try:
            with urllib.request.urlopen(req, timeout=3) as res:
                answers.append(f"{path} {res.status}")
        except Exception as err:  # noqa: BLE001 - a diagnostic
            answers.append(f"{path} {err!r}")
    return "; ".join(answers)


def wait(driver, condition, timeout: float = 10, message: str = ""):
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1,
                             ignored_exceptions=(StaleElementReferenceException,)).until(condition, message)
    except TimeoutException as err:
        raise AssertionError(f"{message or 'timed out'} (the node: {node_health()})") from err


def text(driver, selector: str) -> str:
    """The text of the first element `selector` finds, read in one step ("" if none)."""
    return driver.execute_script("const e = document.querySelector(arguments[0]); return e ? e.innerText : ''", selector)


def click(driver, selector: str) -> None:
    """Clicks the element, found again if the page re-rendered it meanwhile (lists reload live)."""
    def attempt(d):
        try:
            d.find_element(By.CSS_SELECTOR, selector).click()
            return True
        except StaleElementReferenceException:
            return False
    wait(driver, attempt, message=f"cannot click {selector}")


def sign_in(driver, node, token: str) -> None:
    driver.get(node.base + "/#/fleet")
    driver.execute_script("sessionStorage.clear()")
    driver.refresh()
    field = wait(driver, lambda d: d.find_element(By.ID, "token") if d.find_element(By.ID, "login").is_displayed() else None)
    field.send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
    try:
        wait(driver, lambda d: d.find_element(By.ID, "shell").is_displayed())
    except TimeoutException:
        try:
            answer = call(node, "GET", "/api/v1/whoami", token)
        except OSError as err:
            answer = f"no answer ({err})"
        page = driver.execute_script("return document.body.innerText")[:500]
        raise AssertionError(f"the shell did not appear after sign-in; the page says {page!r}; "
                             f"GET /api/v1/whoami: {answer}") from None


def go(driver, node, route: str) -> None:
    driver.get(f"{node.base}/#/{route}")


def confirm(driver, fields: dict[str, str] | None = None, selects: dict[str, str] | None = None) -> None:
    """Fills the confirmation dialog and confirms it."""
    dialog = wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "dialog.confirm[open]"))
    for name, value in (fields or {}).items():
        dialog.find_element(By.NAME, name).send_keys(value)
    for name, value in (selects or {}).items():
        Select(dialog.find_element(By.NAME, name)).select_by_value(value)
    dialog.find_element(By.CSS_SELECTOR, "[data-confirm]").click()
    wait(driver, lambda d: not d.find_elements(By.CSS_SELECTOR, "dialog.confirm"))


def alarm_of(node, device: str) -> dict:
    _, body = call(node, "GET", f"/api/v1/alarms?device={device}&state=all", node.admin_token)
    return body["alarms"][0]


def test_alarms_console_acknowledge_note_shelve(node, browser):
    sign_in(browser, node, node.admin_token)
    alarm = alarm_of(node, "pump-1")
    row = f"tr[data-alarm='{alarm['id']}']"
    go(browser, node, "alarms")
    wait(browser, lambda d: "active" in text(d, row), message="the alarm is not shown active")
    assert "overheat" in text(browser, row) and "bearing at 91.5 °C" in text(browser, row)

    click(browser, f"{row} [data-act=ack]")
    confirm(browser, {"note": "crew on site"})
    wait(browser, lambda d: "acknowledged" in text(d, row) and "ack by initial-admin" in text(d, row),
         message=f"the row does not show the acknowledgement: {text(browser, row)!r}")
    assert "crew on site" in text(browser, row)
    assert not browser.find_elements(By.CSS_SELECTOR, f"{row} [data-act=ack]")

    click(browser, f"{row} [data-act=note]")
    confirm(browser, {"text": "bearing ordered"})
    wait(browser, lambda d: "bearing ordered" in text(d, row))

    click(browser, f"{row} [data-act=shelve]")
    confirm(browser, {"reason": "waiting for the part"}, {"for": "4h"})
    wait(browser, lambda d: "shelved" in text(d, row), message=f"the row does not say shelved: {text(browser, row)!r}")
    assert "in 3 h" in text(browser, row) or "in 4 h" in text(browser, row)
    after = call(node, "GET", f"/api/v1/alarms/{alarm['id']}", node.admin_token)[1]
    assert after["state"] == "acknowledged" and after["shelvedUntil"] > time.time() * 1000 + 3.9 * 3600e3
    assert [n["text"] for n in after["notes"]][-1] == "bearing ordered"

    click(browser, f"{row} [data-act=unshelve]")
    confirm(browser)
    wait(browser, lambda d: "shelved" not in text(d, row) and d.find_elements(By.CSS_SELECTOR, f"{row} [data-act=shelve]"))
    assert call(node, "GET", f"/api/v1/alarms/{alarm['id']}", node.admin_token)[1]["shelvedUntil"] is None

    # The device link opens the device page around the alarm's time, the instant marked.
    click(browser, f"{row} a")
    wait(browser, lambda d: d.find_element(By.ID, "dev-title").text == "pump-1")
    assert "Around" in text(browser, "[data-range=at].active")
    wait(browser, lambda d: "overheat" in text(d, "#dev-alarms"))


def test_manual_override_with_reason_and_expiry_then_release(node, browser):
    sign_in(browser, node, node.operator_token)  # an operator may take over
    go(browser, node, "takeover")
    row = f"#overrides tr[data-device='{COOL}']"
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f"{row} [data-override=manual]"))
    assert "auto" in text(browser, row)
    click(browser, f"{row} [data-override=manual]")
    confirm(browser, {"reason": "bearing replacement"}, {"for": "30m"})
    wait(browser, lambda d: "manual" in text(d, row) and "bearing replacement" in text(d, row),
         message=f"the take-over row does not show the override: {text(browser, row)!r}")
    assert "ends in 29 min" in text(browser, row) or "ends in 30 min" in text(browser, row)
    override = call(node, "GET", f"/api/v1/devices/{COOL}/override", node.admin_token)[1]
    assert override["mode"] == "manual" and override["reason"] == "bearing replacement"
    assert 29 * 60e3 < override["until"] - time.time() * 1000 <= 30 * 60e3

    go(browser, node, "fleet")
    wait(browser, lambda d: "manual" in text(d, f"#fleet-rows tr[data-device='{COOL}']"))
    wait(browser, lambda d: "1 not on auto" in text(d, "#fleet-tiles"))
    go(browser, node, f"device/{COOL}")
    wait(browser, lambda d: "manual" in text(d, "#dev-override") and "bearing replacement" in text(d, "#dev-override"))
    click(browser, "#dev-override [data-action=release]")
    confirm(browser)
    wait(browser, lambda d: "auto" in text(d, "#dev-override") and d.find_elements(By.CSS_SELECTOR, "#dev-override [data-action=manual]"))
    go(browser, node, "fleet")
    wait(browser, lambda d: "auto" in text(d, f"#fleet-rows tr[data-device='{COOL}']"))
    assert call(node, "GET", f"/api/v1/devices/{COOL}/override", node.admin_token)[1]["mode"] == "auto"

    # The audit trail shows both operator actions.
    go(browser, node, f"decisions?device={COOL}")
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "details.audit-entry")) >= 2)
    audit = text(browser, "#audit")
    assert "OPERATOR ACTION" in audit.upper()
    assert "bearing replacement" in audit and "alice" in audit, audit


def test_approve_and_reject_pending_commands(node, browser):
    sign_in(browser, node, node.admin_token)
    go(browser, node, "takeover")
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#approvals [data-command]")) == 2)
    pending = {c["device"]: c for c in call(node, "GET", "/api/v1/commands?state=pending_approval", node.admin_token)[1]["commands"]}
    approve, reject = pending["pump-1"], pending["pump-2"]
    item = f"#approvals [data-command='{approve['id']}']"
    assert "set_speed" in text(browser, item) and "rule:pump-overheat@1" in text(browser, item)
    click(browser, f"{item} [data-approve=yes]")
    confirm(browser, {"text": "checked on site"})
    wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, item), message="the approved command is still listed")
    item = f"#approvals [data-command='{reject['id']}']"
    click(browser, f"{item} [data-approve=no]")
    confirm(browser, {"text": "not during the shift change"})
    wait(browser, lambda d: "Nothing waits for approval" in text(d, "#approvals"))
    wait_for("the approved command done", lambda: call(node, "GET", f"/api/v1/commands/{approve['id']}",
                                                       node.admin_token)[1]["state"] == "done")
    assert call(node, "GET", f"/api/v1/commands/{reject['id']}", node.admin_token)[1]["state"] == "cancelled"

    go(browser, node, "device/pump-1")
    wait(browser, lambda d: "done" in text(d, "#dev-commands"), message=f"commands: {text(browser, '#dev-commands')!r}")
    lifecycle = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#dev-commands ol.lifecycle li")]
    assert lifecycle[0] == "pending approval" and "queued" in lifecycle and lifecycle[-1] == "done", lifecycle
    go(browser, node, "device/pump-2")
    wait(browser, lambda d: "cancelled" in text(d, "#dev-commands"))


def test_autonomy_switch_as_admin(node, browser):
    sign_in(browser, node, node.admin_token)
    go(browser, node, "takeover")
    wait(browser, lambda d: "Autonomy ON" in text(d, "[data-testid=autonomy-state]"))
    click(browser, "[data-autonomy=off]")
    confirm(browser, {"reason": "commissioning"})
    wait(browser, lambda d: "Autonomy OFF" in text(d, "[data-testid=autonomy-state]"))
    assert "commissioning" in text(browser, "#autonomy") and "initial-admin" in text(browser, "#autonomy")
    go(browser, node, "fleet")
    wait(browser, lambda d: "OFF" in text(d, "#fleet-tiles"))
    go(browser, node, "takeover")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-autonomy=on]"))
    click(browser, "[data-autonomy=on]")
    confirm(browser, {"reason": "commissioning done"})
    wait(browser, lambda d: "Autonomy ON" in text(d, "[data-testid=autonomy-state]"))
    assert call(node, "GET", "/api/v1/autonomy", node.admin_token)[1]["enabled"] is True


def test_viewer_sees_no_actions_and_every_action_route_refuses(node, browser):
    sign_in(browser, node, node.viewer_token)
    assert "viewer" in text(browser, "#who")
    go(browser, node, "alarms")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "tr[data-alarm]"))
    assert not browser.find_elements(By.CSS_SELECTOR, "#alarms-body button")
    go(browser, node, "takeover")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#overrides tr[data-device]")
         and "Loading" not in text(d, "#approvals") and "Loading" not in text(d, "#autonomy"))
    assert not browser.find_elements(By.CSS_SELECTOR, "#overrides button, #approvals button, #autonomy button")
    assert "Only an admin" in text(browser, "#autonomy")
    go(browser, node, "device/pump-1")
    wait(browser, lambda d: "auto" in text(d, "#dev-override"))
    assert not browser.find_elements(By.CSS_SELECTOR, "#dev-override button")

    alarm = alarm_of(node, "pump-2")["id"]
    command = call(node, "GET", "/api/v1/commands?device=pump-1", node.admin_token)[1]["commands"][0]["id"]
    attempts = [
        ("POST", f"/api/v1/alarms/{alarm}/acknowledge", {"note": "viewer"}),
        ("POST", f"/api/v1/alarms/{alarm}/shelve", {"for": "1h", "reason": "viewer"}),
        ("POST", f"/api/v1/alarms/{alarm}/unshelve", {}),
        ("POST", f"/api/v1/alarms/{alarm}/notes", {"text": "viewer"}),
        ("PUT", f"/api/v1/devices/{COOL}/override", {"reason": "viewer", "for": "10m"}),
        ("DELETE", f"/api/v1/devices/{COOL}/override", None),
        ("POST", f"/api/v1/commands/{command}/approve", {}),
        ("POST", f"/api/v1/commands/{command}/reject", {"reason": "viewer"}),
        ("PUT", "/api/v1/autonomy", {"enabled": False, "reason": "viewer"}),
    ]
    for method, path, body in attempts:
        status, answer = call(node, method, path, node.viewer_token, body)
        assert status == 403, f"{method} {path} as a viewer: {status} {answer}"
        assert answer["error"]["code"] == "forbidden" and "viewer" in answer["error"]["message"]
