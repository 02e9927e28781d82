"""Client-side helpers for the integration suite: a paho wrapper with bounded waits, a raw MQTT
packet builder/reader for hand-made (and malformed) packets, and mosquitto_pub/_sub runners.

Every wait here is bounded: nothing in this module can block for more than its timeout.
"""

from __future__ import annotations

import queue
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

V311 = 4
V5 = 5
VERSIONS = (V311, V5)


def unique(prefix: str = "itest") -> str:
    return f"{prefix}/{uuid.uuid4().hex[:12]}"


def vname(version: int) -> str:
    return "v5" if version == V5 else "v311"


# ------------------------------------------------------------------------------------------------
# paho wrapper
# ------------------------------------------------------------------------------------------------

@dataclass
class Msg:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    props: Any = None  # paho Properties or None
    received_at: float = field(default_factory=time.monotonic)

    def prop(self, name: str, default: Any = None) -> Any:
        if self.props is None:
            return default
        return getattr(self.props, name, default)


def props(packet_type: int, **values: Any) -> Properties:
    p = Properties(packet_type)
    for k, v in values.items():
        setattr(p, k, v)
    return p


class MqttClient:
    """A paho client on its own network thread, without automatic reconnects.

    Connects in the constructor (unless connect=False) and waits for the CONNACK.
    """

    def __init__(self, broker, client_id: str = "", version: int = V5, *, clean: bool = True,
                 session_expiry: int | None = None, keepalive: int = 30, tls: bool = False,
                 will: dict | None = None, connect_props: dict | None = None, connect: bool = True,
                 timeout: float = 5.0, port: int | None = None):
        self.broker = broker
        self.version = version
        self.client_id = client_id
        self.messages: "queue.Queue[Msg]" = queue.Queue()
        self._cond = threading.Condition()
        self._connack: tuple | None = None
        self._subacks: dict[int, list] = {}
        self._unsubacks: dict[int, list] = {}
        self._pubacks: dict[int, Any] = {}
        self.disconnects: list[Any] = []  # reason codes of on_disconnect
        self.connected = False
        kwargs: dict[str, Any] = dict(client_id=client_id, reconnect_on_failure=False,
                                      protocol=mqtt.MQTTv5 if version == V5 else mqtt.MQTTv311)
        if version != V5:
            kwargs["clean_session"] = clean
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, **kwargs)
        self.c.on_connect = self._on_connect
        self.c.on_disconnect = self._on_disconnect
        self.c.on_message = self._on_message
        self.c.on_subscribe = self._on_subscribe
        self.c.on_unsubscribe = self._on_unsubscribe
        self.c.on_publish = self._on_publish
        # paho's default of 20 unacknowledged outgoing QoS 1/2 messages stays: it is within the Receive
        # Maximum of both brokers (mosquitto drops a v3.1.1 client's QoS 2 messages beyond its own 20).
        self.c.max_queued_messages_set(0)
        self._tls = tls
        if tls:
            self.c.tls_set(ca_certs=broker.ca_file)
        if will:
            w = dict(will)
            wprops = w.pop("props", None)
            if wprops:
                w["properties"] = props(PacketTypes.WILLMESSAGE, **wprops)
            self.c.will_set(**w)
        self._clean = clean
        self._keepalive = keepalive
        self._connect_props = dict(connect_props or {})
        if session_expiry is not None:
            self._connect_props["SessionExpiryInterval"] = session_expiry
        self._port = port
        if connect:
            self.connect(timeout)

    # callbacks (network thread)
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        with self._cond:
            self._connack = (flags, reason_code, properties)
            self.connected = not reason_code.is_failure
            self._cond.notify_all()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        with self._cond:
            self.connected = False
            self.disconnects.append(reason_code)
            self._cond.notify_all()

    def _on_message(self, client, userdata, m):
        self.messages.put(Msg(m.topic, bytes(m.payload), m.qos, bool(m.retain),
                              getattr(m, "properties", None)))

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        with self._cond:
            self._subacks[mid] = list(reason_codes)
            self._cond.notify_all()

    def _on_unsubscribe(self, client, userdata, mid, reason_codes, properties):
        with self._cond:
            self._unsubacks[mid] = list(reason_codes)
            self._cond.notify_all()

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        with self._cond:
            self._pubacks[mid] = reason_code
            self._cond.notify_all()

    def _wait(self, pred, timeout: float, what: str):
        with self._cond:
            if not self._cond.wait_for(pred, timeout):
                raise AssertionError(f"[{self.client_id or 'client'}] timed out after {timeout}s waiting for {what}")

    # API
    def connect(self, timeout: float = 5.0):
        port = self._port or (self.broker.tls_port if self._tls else self.broker.port)
        host = "localhost" if self._tls else self.broker.host
        kw: dict[str, Any] = {}
        if self.version == V5:
            kw["clean_start"] = self._clean
            if self._connect_props:
                kw["properties"] = props(PacketTypes.CONNECT, **self._connect_props)
        self._connack = None
        self.c.connect(host, port, keepalive=self._keepalive, **kw)
        self.c.loop_start()
        self._wait(lambda: self._connack is not None or bool(self.disconnects), timeout, "CONNACK")
        if self._connack is None:
            raise AssertionError(f"connection closed before CONNACK: {self.disconnects}")
        return self

    @property
    def connack_rc(self) -> int:
        assert self._connack is not None
        return self._connack[1].value

    @property
    def session_present(self) -> bool:
        assert self._connack is not None
        return bool(self._connack[0].session_present)

    @property
    def connack_props(self):
        assert self._connack is not None
        return self._connack[2]

    def subscribe(self, topic: str, qos: int = 0, *, no_local: bool = False, rap: bool = False,
                  rh: int = 0, sub_id: int | None = None, timeout: float = 5.0) -> list[int]:
        if self.version == V5:
            p = props(PacketTypes.SUBSCRIBE, SubscriptionIdentifier=sub_id) if sub_id is not None else None
            opts = SubscribeOptions(qos=qos, noLocal=no_local, retainAsPublished=rap, retainHandling=rh)
            rc, mid = self.c.subscribe(topic, options=opts, properties=p)
        else:
            rc, mid = self.c.subscribe(topic, qos)
        assert rc == mqtt.MQTT_ERR_SUCCESS, f"subscribe failed locally: {rc}"
        self._wait(lambda: mid in self._subacks, timeout, f"SUBACK for {topic}")
        return [getattr(r, "value", r) for r in self._subacks[mid]]

    def unsubscribe(self, topic: str, timeout: float = 5.0):
        rc, mid = self.c.unsubscribe(topic)
        self._wait(lambda: mid in self._unsubacks, timeout, f"UNSUBACK for {topic}")

    def publish(self, topic: str, payload: bytes | str = b"", qos: int = 0, retain: bool = False,
                *, wait: bool = True, timeout: float = 5.0, **v5props) -> Any:
        """Publishes; for QoS>0 (and wait=True) waits for PUBACK/PUBCOMP and returns its reason code."""
        p = props(PacketTypes.PUBLISH, **v5props) if v5props else None
        info = self.c.publish(topic, payload, qos=qos, retain=retain, properties=p)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise AssertionError(f"publish to {topic!r} failed locally: {info.rc}")
        if wait and qos > 0:
            self._wait(lambda: info.mid in self._pubacks or not self.connected, timeout,
                       f"PUBACK/PUBCOMP of {topic}")
            return self._pubacks.get(info.mid)
        return None

    def expect_message(self, timeout: float = 3.0) -> Msg:
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"[{self.client_id or 'client'}] no message within {timeout}s") from None

    def expect_messages(self, n: int, timeout: float = 5.0) -> list[Msg]:
        deadline = time.monotonic() + timeout
        out = []
        while len(out) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"got {len(out)} of {n} messages within {timeout}s: "
                                     f"{[(m.topic, m.payload[:40]) for m in out]}")
            try:
                out.append(self.messages.get(timeout=left))
            except queue.Empty:
                pass
        return out

    def expect_no_message(self, timeout: float = 1.0):
        try:
            m = self.messages.get(timeout=timeout)
        except queue.Empty:
            return
        raise AssertionError(f"unexpected message on {m.topic!r}: {m.payload[:80]!r} (qos {m.qos}, retain {m.retain})")

    def receive_until(self, done, timeout: float = 5.0, what: str = "the expected messages") -> list[Msg]:
        """Every message received until `done(received so far)` holds (checked after each one), in
        order; AssertionError at the deadline, listing what did arrive. For messages that must
        arrive: unlike drain(), it returns as soon as they are there and fails when they are not."""
        got: list[Msg] = []
        deadline = time.monotonic() + timeout
        while not done(got):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"[{self.client_id or 'client'}] no {what} within {timeout}s; received "
                                     f"{[(m.topic, m.payload[:40]) for m in got]}")
            try:
                got.append(self.messages.get(timeout=left))
            except queue.Empty:
                pass
        return got

    def drain(self, settle: float = 0.3) -> list[Msg]:
        out = []
        while True:
            try:
                out.append(self.messages.get(timeout=settle))
            except queue.Empty:
                return out

    def wait_disconnected(self, timeout: float = 5.0):
        self._wait(lambda: not self.connected and bool(self.disconnects), timeout, "disconnection")
        return self.disconnects[-1]

    def disconnect(self, reason: int | None = None, timeout: float = 3.0, **v5props):
        """Normal DISCONNECT (optionally with a v5 reason code and properties)."""
        kw: dict[str, Any] = {}
        if reason is not None:
            kw["reasoncode"] = ReasonCode(PacketTypes.DISCONNECT, identifier=reason)
        if v5props:
            kw["properties"] = props(PacketTypes.DISCONNECT, **v5props)
        if self.connected:
            self.c.disconnect(**kw)
            with self._cond:
                self._cond.wait_for(lambda: not self.connected, timeout)
        self.c.loop_stop()

    def abort(self):
        """Closes the TCP connection without sending DISCONNECT (an abnormal close for the broker)."""
        sock = self.c.socket()
        self.c.loop_stop()
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self.connected = False

    def close(self):
        try:
            if self.connected:
                self.disconnect()
            else:
                self.c.loop_stop()
        except Exception:
            pass


def topics_seen(*topics: str):
    """A `receive_until` condition: every one of `topics` has been received at least once."""
    wanted = set(topics)
    return lambda got: wanted <= {m.topic for m in got}


class Clients:
    """Creates MqttClients and closes all of them at teardown (used by the `clients` fixture)."""

    def __init__(self, broker):
        self.broker = broker
        self.all: list[MqttClient] = []

    def __call__(self, client_id: str = "", version: int = V5, **kw) -> MqttClient:
        c = MqttClient(self.broker, client_id, version, **kw)
        self.all.append(c)
        return c

    def close(self):
        for c in self.all:
            c.close()


# ------------------------------------------------------------------------------------------------
# raw MQTT packets
# ------------------------------------------------------------------------------------------------

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH = 8, 9, 10, 11, 12, 13, 14, 15

_BYTE = {0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A}
_U16 = {0x13, 0x21, 0x22, 0x23}
_U32 = {0x02, 0x11, 0x18, 0x27}
_VARINT = {0x0B}
_STR = {0x03, 0x08, 0x12, 0x15, 0x1A, 0x1C, 0x1F}
_BIN = {0x09, 0x16}
_PAIR = {0x26}


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mstr(s: str | bytes) -> bytes:
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("!H", len(b)) + b


def encode_props(items: list[tuple[int, Any]] | None) -> bytes:
    body = bytearray()
    for pid, v in items or []:
        body += varint(pid)
        if pid in _BYTE:
            body += bytes([v])
        elif pid in _U16:
            body += struct.pack("!H", v)
        elif pid in _U32:
            body += struct.pack("!I", v)
        elif pid in _VARINT:
            body += varint(v)
        elif pid in _STR or pid in _BIN:
            body += mstr(v)
        elif pid in _PAIR:
            body += mstr(v[0]) + mstr(v[1])
        else:
            raise ValueError(f"unknown property {pid:#x}")
    return varint(len(body)) + bytes(body)


def decode_props(data: bytes, i: int) -> tuple[dict[int, Any], int]:
    n, i = read_varint(data, i)
    end = i + n
    out: dict[int, Any] = {}
    while i < end:
        pid, i = read_varint(data, i)
        if pid in _BYTE:
            v = data[i]; i += 1
        elif pid in _U16:
            v = struct.unpack_from("!H", data, i)[0]; i += 2
        elif pid in _U32:
            v = struct.unpack_from("!I", data, i)[0]; i += 4
        elif pid in _VARINT:
            v, i = read_varint(data, i)
        elif pid in _STR or pid in _BIN:
            ln = struct.unpack_from("!H", data, i)[0]
            v = data[i + 2:i + 2 + ln]; i += 2 + ln
            if pid in _STR:
                v = v.decode("utf-8", "replace")
        elif pid in _PAIR:
            l1 = struct.unpack_from("!H", data, i)[0]
            k = data[i + 2:i + 2 + l1].decode(); i += 2 + l1
            l2 = struct.unpack_from("!H", data, i)[0]
            val = data[i + 2:i + 2 + l2].decode(); i += 2 + l2
            v = (k, val)
            out.setdefault(pid, []).append(v)
            continue
        else:
            raise ValueError(f"unknown property {pid:#x}")
        if pid in _VARINT:
            out.setdefault(pid, []).append(v)
        else:
            out[pid] = v
    return out, end


def read_varint(data: bytes, i: int) -> tuple[int, int]:
    mult, val = 1, 0
    for _ in range(4):
        b = data[i]; i += 1
        val += (b & 0x7F) * mult
        if not b & 0x80:
            return val, i
        mult *= 128
    raise ValueError("malformed variable byte integer")


def packet(ptype: int, flags: int, body: bytes) -> bytes:
    return bytes([(ptype << 4) | flags]) + varint(len(body)) + body


def connect_packet(client_id: str = "", version: int = V5, *, clean: bool = True, keepalive: int = 60,
                   props: list | None = None, will: tuple | None = None, flags_extra: int = 0) -> bytes:
    """will = (topic, payload, qos, retain[, will_props])."""
    flags = (0x02 if clean else 0) | flags_extra
    payload = mstr(client_id)
    if will:
        topic, wpayload, wqos, wretain = will[:4]
        flags |= 0x04 | (wqos << 3) | (0x20 if wretain else 0)
        if version == V5:
            payload += encode_props(will[4] if len(will) > 4 else None)
        payload += mstr(topic) + mstr(wpayload)
    body = mstr("MQTT") + bytes([version, flags]) + struct.pack("!H", keepalive)
    if version == V5:
        body += encode_props(props)
    return packet(CONNECT, 0, body + payload)


def publish_packet(topic: str, payload: bytes = b"", qos: int = 0, *, retain: bool = False,
                   pid: int = 1, version: int = V5, props: list | None = None, dup: bool = False) -> bytes:
    flags = (qos << 1) | (1 if retain else 0) | (8 if dup else 0)
    body = mstr(topic)
    if qos:
        body += struct.pack("!H", pid)
    if version == V5:
        body += encode_props(props)
    return packet(PUBLISH, flags, body + payload)


def subscribe_packet(topics: list[tuple[str, int]], pid: int = 1, *, version: int = V5,
                     props: list | None = None, flags: int = 0x02) -> bytes:
    body = struct.pack("!H", pid)
    if version == V5:
        body += encode_props(props)
    for t, opts in topics:
        body += mstr(t) + bytes([opts])
    return packet(SUBSCRIBE, flags, body)


def disconnect_packet(reason: int | None = None, version: int = V5) -> bytes:
    if version == V5 and reason is not None:
        return packet(DISCONNECT, 0, bytes([reason]) + encode_props(None))
    return packet(DISCONNECT, 0, b"")


@dataclass
class Packet:
    type: int
    flags: int
    body: bytes

    @property
    def name(self) -> str:
        return ["?", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP", "SUBSCRIBE",
                "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH"][self.type]

    def reason(self) -> int | None:
        """Reason/return code of CONNACK, PUBACK-family (v5) or DISCONNECT (v5); None if absent."""
        if self.type == CONNACK:
            return self.body[1]
        if self.type in (PUBACK, PUBREC, PUBREL, PUBCOMP):
            return self.body[2] if len(self.body) > 2 else 0
        if self.type == DISCONNECT:
            return self.body[0] if self.body else 0
        return None

    def publish_fields(self, version: int = V5) -> dict:
        assert self.type == PUBLISH
        qos = (self.flags >> 1) & 3
        tl = struct.unpack_from("!H", self.body, 0)[0]
        topic = self.body[2:2 + tl].decode()
        i = 2 + tl
        pid = None
        if qos:
            pid = struct.unpack_from("!H", self.body, i)[0]; i += 2
        p: dict = {}
        if version == V5:
            p, i = decode_props(self.body, i)
        return dict(topic=topic, qos=qos, retain=bool(self.flags & 1), pid=pid, props=p, payload=self.body[i:])

    def __repr__(self):
        return f"<{self.name} flags={self.flags:#x} body={self.body[:32]!r}{'...' if len(self.body) > 32 else ''}>"


class Closed(Exception):
    pass


class RawClient:
    """A plain socket speaking hand-built MQTT packets."""

    def __init__(self, host: str, port: int, *, tls_ca: str | None = None, timeout: float = 5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if tls_ca:
            ctx = ssl.create_default_context(cafile=tls_ca)
            self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""
        self.eof = False

    def send(self, data: bytes) -> bool:
        """Sends; returns False if the peer had already closed/reset the connection."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            return False

    def _fill(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError from None
        except (ConnectionResetError, ssl.SSLError, OSError):
            chunk = b""
        if not chunk:
            self.eof = True
            raise Closed
        self.buf += chunk

    def read_packet(self, timeout: float = 3.0) -> Packet:
        """Next packet; raises TimeoutError if none within timeout, Closed on EOF/reset."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 2:
                try:
                    mult, rl, i = 1, 0, 1
                    while True:
                        if i >= len(self.buf):
                            raise IndexError
                        b = self.buf[i]; i += 1
                        rl += (b & 0x7F) * mult
                        mult *= 128
                        if not b & 0x80:
                            break
                        if i > 4:
                            raise ValueError("malformed remaining length from server")
                    if len(self.buf) >= i + rl:
                        first = self.buf[0]
                        body = self.buf[i:i + rl]
                        self.buf = self.buf[i + rl:]
                        return Packet(first >> 4, first & 0x0F, body)
                except IndexError:
                    pass
            if self.eof:
                raise Closed
            self._fill(deadline)

    def expect(self, ptype: int, timeout: float = 3.0) -> Packet:
        """Next packet that is of type ptype (other packets, e.g. PUBLISH, are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            p = self.read_packet(max(0.01, deadline - time.monotonic()))
            if p.type == ptype:
                return p

    def connect(self, client_id: str = "", version: int = V5, timeout: float = 3.0, **kw) -> Packet:
        self.send(connect_packet(client_id, version, **kw))
        p = self.read_packet(timeout)
        assert p.type == CONNACK, f"expected CONNACK, got {p}"
        return p

    def expect_closed(self, timeout: float = 3.0) -> list[Packet]:
        """Waits until the peer closes the connection; returns the packets received before that."""
        got = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                got.append(self.read_packet(max(0.01, deadline - time.monotonic())))
            except Closed:
                return got
            except TimeoutError:
                raise AssertionError(f"connection still open after {timeout}s; received {got}") from None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ------------------------------------------------------------------------------------------------
# mosquitto command-line clients
# ------------------------------------------------------------------------------------------------

def _cli_common(broker, version: int, tls: bool) -> list[str]:
    args = ["-V", "mqttv5" if version == V5 else "mqttv311"]
    if tls:
        args += ["-h", "localhost", "-p", str(broker.tls_port), "--cafile", broker.ca_file]
    else:
        args += ["-h", broker.host, "-p", str(broker.port)]
    return args


def mosquitto_pub(broker, topic: str, message: str | bytes, *, qos: int = 0, version: int = V5,
                  retain: bool = False, tls: bool = False, extra: list[str] | None = None,
                  timeout: float = 10.0) -> subprocess.CompletedProcess:
    cmd = ["mosquitto_pub", *_cli_common(broker, version, tls), "-t", topic, "-q", str(qos)]
    if retain:
        cmd.append("-r")
    cmd += extra or []
    if isinstance(message, bytes):
        cmd += ["-s"]
        return subprocess.run(cmd, input=message, capture_output=True, timeout=timeout)
    cmd += ["-m", message]
    return subprocess.run(cmd, capture_output=True, timeout=timeout)


class MosquittoSub:
    """mosquitto_sub in the background, bounded by -C count and -W seconds.

    Started with -d so that it can be seen to have received its SUBACK before anything is published.
    Received messages are printed as 'MSG|topic|qos|retain|payload'.
    """

    def __init__(self, broker, topic: str, *, count: int, wait: int = 5, qos: int = 0, version: int = V5,
                 tls: bool = False, extra: list[str] | None = None):
        # stdbuf: line-buffered stdout, so the SUBACK debug line is seen as soon as it is printed.
        cmd = [*(["stdbuf", "-oL"] if shutil.which("stdbuf") else []), "mosquitto_sub", *_cli_common(broker, version, tls), "-t", topic, "-q", str(qos),
               "-C", str(count), "-W", str(wait), "-d", "-F", "MSG|%t|%q|%r|%p", *(extra or [])]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: "queue.Queue[str | None]" = queue.Queue()
        self.all_lines: list[str] = []
        self._t = threading.Thread(target=self._reader, daemon=True)
        self._t.start()
        self.wait: int = wait

    def _reader(self):
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_subscribed(self, timeout: float = 5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.all_lines.append(line)
            if "received SUBACK" in line:
                return self
        self.proc.kill()
        raise AssertionError(f"mosquitto_sub did not report a SUBACK within {timeout}s: {self.all_lines}; "
                             f"stderr: {self.proc.stderr.read() if self.proc.stderr else ''}")

    def result(self, timeout: float | None = None) -> tuple[int, list[tuple[str, int, int, str]]]:
        """Waits for exit; returns (exit status, [(topic, qos, retain, payload)])."""
        try:
            rc = self.proc.wait(timeout if timeout is not None else self.wait + 5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait(5)
        self._t.join(5)
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.all_lines.append(line)
        msgs = []
        for line in self.all_lines:
            if line.startswith("MSG|"):
                _, t, q, r, p = line.split("|", 4)
                msgs.append((t, int(q), int(r), p))
        return rc, msgs


def mqtt_version_ids(v: int) -> str:
    return vname(v)


def expect_across(members: list["MqttClient"], n: int, timeout: float = 5.0,
                  settle: float = 0.3) -> list[list[Msg]]:
    """Waits until `members` together have received `n` messages (AssertionError at the deadline),
    then waits `settle` more seconds for any extra copies (which a caller checking duplicates must
    see). Returns each member's messages, in the order it received them."""
    got: list[list[Msg]] = [[] for _ in members]
    deadline = time.monotonic() + timeout
    while sum(map(len, got)) < n:
        if time.monotonic() > deadline:
            raise AssertionError(f"members got {sum(map(len, got))} of {n} messages within {timeout}s "
                                 f"({[len(g) for g in got]} each)")
        for i, member in enumerate(members):
            try:
                got[i].append(member.messages.get(timeout=0.01))
            except queue.Empty:
                pass
    for i, member in enumerate(members):
        got[i].extend(member.drain(settle if i == 0 else 0.0))
    return got
