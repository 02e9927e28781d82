// The live feed: GET /api/v1/events read with fetch() and a stream reader (so the token travels in
// the Authorization header, never in the URL), parsed as server-sent events, handed to listeners.
// Reconnects with backoff; a 404 means the node has no live feed (the page then polls).

import { session } from "./api.js";

const listeners = new Map(); // event name -> Set of callbacks
const stateListeners = new Set();
let controller = null;
export let liveState = "off"; // off | connecting | live | unavailable | error

export function on(event, callback) {
  if (!listeners.has(event)) listeners.set(event, new Set());
  listeners.get(event).add(callback);
  return () => listeners.get(event).delete(callback);
}

export function onState(callback) {
  stateListeners.add(callback);
  callback(liveState);
  return () => stateListeners.delete(callback);
}

function setState(state) {
  liveState = state;
  for (const callback of stateListeners) callback(state);
}

function dispatch(event, data) {
  const set = listeners.get(event);
  if (!set || set.size === 0) return;
  let value;
  try {
    value = JSON.parse(data);
  } catch {
    return;
  }
  for (const callback of set) {
    try {
      callback(value);
    } catch (err) {
      console.error("live listener failed", event, err);
    }
  }
}

/** Parses SSE text incrementally; returns the unconsumed tail. */
function parse(buffer) {
  let boundary;
  while ((boundary = buffer.indexOf("\n\n")) >= 0) {
    const block = buffer.slice(0, boundary);
    buffer = buffer.slice(boundary + 2);
    let event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue; // comment (heartbeat)
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (data.length) dispatch(event, data.join("\n"));
  }
  return buffer;
}

export function connect() {
  disconnect();
  const ctrl = new AbortController();
  controller = ctrl;
  (async () => {
    let delay = 1000;
    while (!ctrl.signal.aborted) {
      setState("connecting");
      try {
        const response = await fetch("/api/v1/events", {
          headers: { Authorization: `Bearer ${session.token}`, Accept: "text/event-stream" },
          signal: ctrl.signal,
          cache: "no-store",
        });
        if (response.status === 404) {
          setState("unavailable");
          return;
        }
        if (response.status === 401) {
          // The token was revoked: the next API call signs the page out; do not hammer the node.
          setState("error");
          return;
        }
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        setState("live");
        delay = 1000;
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer = parse(buffer + decoder.decode(value, { stream: true }));
        }
      } catch (err) {
        if (ctrl.signal.aborted) return;
      }
      if (ctrl.signal.aborted) return;
      setState("error");
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 15000);
    }
  })();
}

export function disconnect() {
  if (controller) controller.abort();
  controller = null;
  setState("off");
}
