// The console of pusher dev: one page fed by the Server-Sent Events of
// /console/events (the protocol is in adapters/console's doc), driving the pusher
// through its own HTTP routes (POST /notifications, /poison/...). No framework and
// no build step. Everything shown comes from the server or the user, so it is
// written with textContent and setAttribute, never as HTML.
"use strict";

(() => {
  const $ = (sel) => document.querySelector(sel);

  // el builds an element: attrs are set with setAttribute (a value of null or false
  // is skipped), children are nodes or strings (as text).
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  // list reads a comma-separated field: trimmed, empty entries dropped.
  const list = (s) => s.split(",").map((x) => x.trim()).filter((x) => x !== "");

  const plural = (n, one, many) => `${n} ${n === 1 ? one : many || one + "s"}`;

  function ago(iso) {
    const t = Date.parse(iso);
    if (Number.isNaN(t)) return "–";
    const s = Math.max(0, Math.round((Date.now() - t) / 1000));
    if (s < 5) return "just now";
    if (s < 60) return `${s}s ago`;
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
    return new Date(t).toLocaleString();
  }

  // when is a <time> whose text is kept relative (refreshed every second).
  function when(iso) {
    const d = Date.parse(iso);
    return el("time", { datetime: iso, "data-relative": "", title: Number.isNaN(d) ? null : new Date(d).toLocaleString() }, ago(iso));
  }

  const clock = (d) => d.toLocaleTimeString([], { hour12: false });

  function ms(v) {
    if (typeof v !== "number" || !Number.isFinite(v)) return "–";
    if (v >= 100) return v.toFixed(0);
    if (v >= 10) return v.toFixed(1);
    return v.toFixed(2);
  }

  // readBody reads an answer of the pusher: JSON when it is, else its text.
  async function readBody(resp) {
    const text = await resp.text();
    try {
      return JSON.parse(text);
    } catch {
      return { error: text.trim() || resp.statusText };
    }
  }

  const state = {
    hello: null,
    knownConnections: null, // ids of the last connections event, to mark the new rows
    sent: new Map(), // message_id → what this page sent, the last 200, kept across streams
    shownRequests: new Map(), // correlation id → { result (null while pending), at (first shown) }
    samples: [], // metrics, oldest first, at most 60
  };

  // ---- the event stream --------------------------------------------------------

  function setStatus(s, text) {
    $("#status").dataset.state = s;
    $("#status-text").textContent = text;
  }

  function startEvents() {
    const es = new EventSource("/console/events");
    const on = (name, fn) =>
      es.addEventListener(name, (ev) => {
        let data;
        try {
          data = JSON.parse(ev.data);
        } catch (err) {
          console.error(`console: ${name} event is not JSON`, err);
          return;
        }
        fn(data);
      });
    es.onopen = () => setStatus("open", "live");
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) {
        // The browser gives up on an answer that is not an event stream: try again later.
        setStatus("closed", "disconnected · retrying");
        setTimeout(startEvents, 2000);
      } else {
        setStatus("closed", "disconnected · reconnecting");
      }
    };
    on("hello", onHello);
    on("connections", renderConnections);
    on("request", renderRequest);
    on("metrics_history", (d) => {
      state.samples = (d.samples || []).slice(-60);
      renderMetrics();
    });
    on("metrics", (s) => {
      state.samples.push(s);
      if (state.samples.length > 60) state.samples.splice(0, state.samples.length - 60);
      renderMetrics();
    });
    on("poison", renderPoison);
  }

  function onHello(h) {
    state.hello = h;
    // Each stream starts afresh: after a reconnect, or once pusher dev restarted, it
    // sends the requests it still has again, and the list is rebuilt from them alone:
    // a previous run's requests, and those still pending, go. What this page sent stays
    // known, so that its requests sent again keep their label.
    state.shownRequests.clear();
    $("#requests").replaceChildren();
    $("#requests-empty").hidden = false;
    $("#ws-url").textContent = h.ws_url;
    const flags = $("#flags");
    flags.replaceChildren();
    if (h.anonymous) flags.append(el("span", { class: "flag", title: "ANONYMOUS_CONNECTIONS: a $connect without a user is accepted" }, "anonymous connections"));
    if (h.tokens) flags.append(el("span", { class: "flag", title: "CONNECT_TOKEN_*: $connect needs a token" }, "$connect tokens"));
    // The test client asks for what this pusher needs at $connect.
    $("#client-token-label").hidden = !h.tokens;
    $("#client-user-label").hidden = !!h.tokens;
    $("#client-user-caption").textContent = h.anonymous ? "user (optional)" : "user";
    $("#client-user").placeholder = h.anonymous ? "none" : "alice";
    const topics = $("#client-topics");
    topics.disabled = !(h.topic_params && h.topic_params.length);
    topics.title = topics.disabled ? "no TOPIC_PARAMS: topics are followed by message only" : `sent as ?${h.topic_params[0]}=`;
  }

  // ---- connections ------------------------------------------------------------

  function renderConnections(c) {
    const shown = c.shown || [];
    const before = state.knownConnections;
    state.knownConnections = new Set(shown.map((x) => x.id));
    $("#connections-count").textContent = String(c.total);
    $("#connections-note").textContent = c.total > shown.length ? `the oldest ${shown.length} of ${c.total} shown` : "";
    $("#connections-empty").hidden = shown.length > 0;
    const rows = shown.map((x) =>
      el(
        "tr",
        {
          "data-id": x.id,
          "data-user": x.user_id || "",
          class: before && !before.has(x.id) ? "new" : null,
          title: [x.source_ip, x.user_agent].filter(Boolean).join(" · ") || null,
        },
        x.user_id ? el("td", { class: "user" }, x.user_id) : el("td", { class: "user none", title: "no user: an anonymous connection" }, "—"),
        el("td", { class: "topics" }, ...(x.topics || []).map((t) => el("span", { class: "tag" }, t))),
        el("td", { class: "since" }, when(x.connected_at)),
        el("td", { class: "active" }, when(x.last_active_at)),
        el("td", { class: "id" }, x.id),
      ),
    );
    $("#connections tbody").replaceChildren(...rows);
  }

  // ---- sending requests and their outcomes -------------------------------------

  function showSendError(text) {
    const e = $("#send-error");
    e.textContent = text;
    e.hidden = !text;
  }

  // describe says in a few words whom a request sent from the form is for.
  function describe(body) {
    const parts = [];
    if (body.users) parts.push(`users ${body.users.join(", ")}`);
    if (body.topics) parts.push(`topics ${body.topics.join(", ")}`);
    if (!body.users && !body.topics) parts.push("everyone");
    if (body.exclude_users) parts.push(`except ${body.exclude_users.join(", ")}`);
    return parts.join(" · ");
  }

  async function onSend(ev) {
    ev.preventDefault();
    showSendError("");
    const dataField = $("#send-data");
    dataField.classList.remove("invalid");
    const text = dataField.value;
    if (text.trim() === "") {
      dataField.classList.add("invalid");
      showSendError("data is empty: write the JSON each connection receives, such as {\"text\": \"hi\"}.");
      return;
    }
    let data;
    try {
      data = JSON.parse(text);
    } catch (err) {
      dataField.classList.add("invalid");
      showSendError(`data is not valid JSON, nothing was sent: ${err.message}`);
      return;
    }
    const body = {};
    const users = list($("#send-users").value);
    const topics = list($("#send-topics").value);
    const exclude = list($("#send-exclude").value);
    if (users.length) body.users = users;
    if (topics.length) body.topics = topics;
    if (exclude.length) body.exclude_users = exclude;
    body.data = data;

    const button = $("#send-button");
    button.disabled = true;
    try {
      const resp = await fetch("/notifications", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const out = await readBody(resp);
      if (resp.status !== 202 || !out.message_id) {
        showSendError(`refused (${resp.status}): ${out.error || "no message id"}`);
        return;
      }
      state.sent.set(out.message_id, { what: describe(body), at: new Date() });
      for (const old of state.sent.keys()) {
        if (state.sent.size <= 200) break;
        state.sent.delete(old); // the oldest: a Map keeps its insertion order
      }
      // Its outcome may have arrived first, and been shown as another's.
      renderRequest({ correlation_id: out.message_id }, true);
    } catch (err) {
      showSendError(`could not send: ${err.message}`);
    } finally {
      button.disabled = false;
    }
  }

  const kindText = (r) => {
    const k = r.kind || "not decoded";
    const extra = [];
    if (r.users) extra.push(plural(r.users, "user"));
    if (r.topics) extra.push(plural(r.topics, "topic"));
    return extra.length ? `${k} · ${extra.join(", ")}` : k;
  };

  function count(cls, label, n) {
    return el("span", { class: cls + (cls === "failed" && n > 0 ? " bad" : "") }, el("b", {}, String(n)), ` ${label}`);
  }

  // renderRequest shows a request: one sent from this page (pending until its event),
  // or a settled one from the event stream. A partial update (only the id) keeps the
  // outcome already shown.
  function renderRequest(r, sentNow) {
    const id = r.correlation_id;
    if (!id) return;
    const ul = $("#requests");
    const li = ul.querySelector(`li[data-correlation-id="${CSS.escape(id)}"]`);
    const shown = state.shownRequests.get(id);
    const sent = state.sent.get(id);
    const result = sentNow ? (shown ? shown.result : null) : r;
    const at = shown ? shown.at : sent ? sent.at : new Date();
    state.shownRequests.set(id, { result, at });
    const settled = !!result;
    let st = "pending";
    if (settled) st = result.error ? "error" : result.failed > 0 ? "failed" : "settled";
    const stText = { pending: "pending", settled: "settled", failed: "parked", error: "unsettled" }[st];

    const head = el(
      "div",
      { class: "req-head" },
      el("span", { class: "pill state", "data-state": st }, stText),
      el("span", { class: "req-what" }, sent ? sent.what : kindText(result || {})),
      sent
        ? el("span", { class: "pill origin", title: "sent from this page" }, "this page")
        : el("span", { class: "pill other", title: "sent by another client: curl, pusher send, a queue…" }, "other source"),
      el("span", { class: "req-time" }, clock(at)),
    );
    const body = [head];
    if (settled) {
      body.push(
        el(
          "div",
          { class: "req-counts" },
          count("connections", "connections", result.connections || 0),
          count("delivered", "delivered", result.delivered || 0),
          count("pruned", "pruned", result.pruned || 0),
          count("failed", "failed", result.failed || 0),
          result.connecting ? count("connecting", "connecting", result.connecting) : null,
          result.split ? count("split", "segments", result.split) : null,
          el("span", { class: "duration" }, el("b", {}, ms(result.duration_ms)), " ms"),
        ),
      );
      if (result.error) body.push(el("div", { class: "req-error" }, result.error));
    }
    body.push(el("div", { class: "req-id", title: "correlation id" }, id));

    const fresh = el(
      "li",
      {
        "data-correlation-id": id,
        "data-origin": sent ? "console" : "other",
        "data-state": st,
        "data-delivered": settled ? String(result.delivered || 0) : null,
      },
      ...body,
    );
    if (li) li.replaceWith(fresh);
    else ul.prepend(fresh);
    while (ul.children.length > 200) {
      state.shownRequests.delete(ul.lastElementChild.dataset.correlationId);
      state.sent.delete(ul.lastElementChild.dataset.correlationId);
      ul.lastElementChild.remove();
    }
    $("#requests-empty").hidden = ul.children.length > 0;
  }

  // ---- the test client --------------------------------------------------------

  let ws = null;

  function showClientError(text) {
    const e = $("#client-error");
    e.textContent = text;
    e.hidden = !text;
  }

  function setClientState(s, text) {
    const pill = $("#client-state");
    pill.dataset.state = s;
    pill.textContent = text;
    const open = s === "open";
    $("#client-connect").disabled = s === "open" || s === "connecting";
    $("#client-disconnect").disabled = !(open || s === "connecting");
    $("#client-subscribe").disabled = !open;
    $("#client-unsubscribe").disabled = !open;
  }

  function logFrame(kind, text) {
    const ol = $("#client-frames");
    const stick = ol.scrollTop + ol.clientHeight >= ol.scrollHeight - 4;
    ol.append(
      el("li", { "data-kind": kind }, el("span", { class: "when" }, clock(new Date())), el("span", { class: "kind" }, kind), el("span", { class: "body" }, text)),
    );
    while (ol.children.length > 500) ol.firstElementChild.remove();
    if (stick) ol.scrollTop = ol.scrollHeight;
  }

  // frameKind tells the gateway's answers to subscribe and unsubscribe (docs/topics.md)
  // from the data of requests.
  function frameKind(text) {
    let v;
    try {
      v = JSON.parse(text);
    } catch {
      return "data";
    }
    if (v && typeof v === "object" && !Array.isArray(v)) {
      if ((v.type === "subscribed" || v.type === "unsubscribed") && typeof v.topic === "string") return "ack";
      if (v.type === "error" && typeof v.code === "string") return "error";
    }
    return "data";
  }

  function onConnect(ev) {
    ev.preventDefault();
    showClientError("");
    const h = state.hello;
    if (!h) {
      showClientError("not ready: the console has not heard from the pusher yet.");
      return;
    }
    const url = new URL(h.ws_url);
    const user = $("#client-user").value.trim();
    const token = $("#client-token").value.trim();
    if (h.tokens) {
      if (!token) {
        showClientError("a token is needed: $connect checks tokens here (make one with pusher token --user NAME).");
        return;
      }
      url.searchParams.set(h.token_param || "token", token);
    } else if (user) {
      url.searchParams.set(h.identity_param, user);
    } else if (!h.anonymous) {
      showClientError("a user is needed: connections without one are refused (ANONYMOUS_CONNECTIONS is off).");
      return;
    }
    const topics = list($("#client-topics").value);
    if (topics.length && h.topic_params && h.topic_params.length) {
      for (const t of topics) url.searchParams.append(h.topic_params[0], t);
    }
    const who = h.tokens ? "with a token" : user ? `as ${user}` : "without a user";
    setClientState("connecting", "connecting…");
    const shown = new URL(url);
    if (h.tokens) shown.searchParams.set(h.token_param || "token", "…"); // the log never shows a token
    logFrame("info", `connecting ${who}: ${shown.pathname}${decodeURIComponent(shown.search)}`);
    const sock = new WebSocket(url);
    ws = sock;
    sock.onopen = () => {
      if (ws !== sock) return;
      setClientState("open", `connected ${who}`);
      logFrame("info", "connected");
    };
    sock.onmessage = (m) => {
      if (typeof m.data === "string") logFrame(frameKind(m.data), m.data);
      else logFrame("data", "(a binary frame)");
    };
    sock.onclose = (c) => {
      if (ws === sock) ws = null;
      setClientState("closed", "disconnected");
      const why = c.code === 1006 ? "refused or dropped" : c.reason || "";
      logFrame("closed", `closed (${c.code}${why ? ", " + why : ""})`);
    };
  }

  function sendAction(action) {
    const topic = $("#client-topic").value.trim();
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (!topic) {
      showClientError(`name the topic to ${action}.`);
      return;
    }
    showClientError("");
    const msg = JSON.stringify({ action, topic });
    ws.send(msg);
    logFrame("sent", msg);
  }

  // ---- the poison queue -------------------------------------------------------

  const poisonView = {
    open: new Set(), // uuids whose payload is unfolded
    results: new Map(), // uuid → { outcome, text } of the last action on it
    busy: new Set(),
    total: 0,
  };

  // showPoisonResult shows what an action on the poison queue did: its outcome is "ok",
  // "parked" (replayed, but it failed again and was parked again) or "failed".
  function showPoisonResult(outcome, text) {
    const p = $("#poison-result");
    p.dataset.outcome = outcome;
    p.textContent = text;
    p.hidden = false;
  }

  function statsText(s) {
    if (!s || typeof s !== "object") return "";
    const parts = [`delivered ${s.delivered || 0}`];
    if (s.connections) parts.unshift(plural(s.connections, "connection")); // none when replayed at post
    if (s.pruned) parts.push(`pruned ${s.pruned}`);
    if (s.connecting) parts.push(`connecting ${s.connecting}`);
    if (s.failed) parts.push(`failed ${s.failed}`);
    return parts.join(", ");
  }

  const short = (uuid) => (uuid.length > 13 ? uuid.slice(0, 8) + "…" : uuid);

  async function poisonAction(uuid, kind) {
    if (poisonView.busy.has(uuid)) return;
    poisonView.busy.add(uuid);
    setItemBusy(uuid, true);
    let outcome = "failed";
    let text;
    try {
      const path = `/poison/${encodeURIComponent(uuid)}`;
      const resp = await fetch(kind === "replay" ? path + "/replay" : path, { method: kind === "replay" ? "POST" : "DELETE" });
      const out = resp.status === 204 ? {} : await readBody(resp);
      if (kind === "replay" && resp.status === 200) {
        // Settled, and taken out of the queue; with failures, parked again as a new message;
        // reaching only connections still in $connect, kept parked for a later replay.
        const connecting = !out.failed && !out.delivered && !out.split && out.connecting > 0;
        outcome = out.failed > 0 || connecting ? "parked" : "ok";
        text = `${out.failed > 0 ? "parked again" : connecting ? "still connecting, kept" : "replayed"}: ${statsText(out)}`;
      } else if (kind === "replay") {
        text = `replay failed (${resp.status}): ${out.error || ""}`;
      } else {
        outcome = resp.status === 204 ? "ok" : "failed";
        text = resp.status === 204 ? "deleted" : resp.status === 404 ? "not parked any more" : `delete failed (${resp.status}): ${out.error || ""}`;
      }
    } catch (err) {
      text = `${kind} failed: ${err.message}`;
    }
    poisonView.busy.delete(uuid);
    poisonView.results.set(uuid, { outcome, text });
    showPoisonResult(outcome, `${short(uuid)} ${text}`);
    setItemBusy(uuid, false);
    const li = poisonItem(uuid);
    if (li) {
      const r = li.querySelector(".msg-result");
      r.dataset.outcome = outcome;
      r.textContent = text;
      r.hidden = false;
    }
  }

  const poisonItem = (uuid) => $("#poison-list").querySelector(`li[data-uuid="${CSS.escape(uuid)}"]`);

  function setItemBusy(uuid, busy) {
    const li = poisonItem(uuid);
    if (li) for (const b of li.querySelectorAll("button")) b.disabled = busy;
  }

  async function replayAll() {
    const button = $("#poison-replay-all");
    button.disabled = true;
    try {
      const resp = await fetch("/poison/replay", { method: "POST" });
      const out = await readBody(resp);
      if (resp.status !== 200) {
        showPoisonResult("failed", `replay all failed (${resp.status}): ${out.error || ""}`);
        return;
      }
      const replayed = out.replayed || 0;
      const again = out.parked_again || 0;
      const connecting = out.connecting || 0;
      const failed = out.failed || [];
      const parts = [];
      if (replayed || (!again && !connecting && !failed.length)) parts.push(`replayed ${plural(replayed, "message")}`);
      if (again) parts.push(`${plural(again, "message")} parked again`);
      if (connecting) parts.push(`${plural(connecting, "message")} still connecting, kept`);
      if (failed.length) parts.push(`${failed.length} failed: ` + failed.map((f) => `${short(f.uuid)} ${f.error}`).join("; "));
      showPoisonResult(failed.length ? "failed" : again || connecting ? "parked" : "ok", parts.join("; "));
    } catch (err) {
      showPoisonResult("failed", `replay all failed: ${err.message}`);
    } finally {
      button.disabled = poisonView.total === 0;
    }
  }

  function meta(label, value) {
    return value ? el("span", {}, `${label} `, el("b", {}, String(value))) : null;
  }

  function renderPoison(p) {
    const msgs = p.messages || [];
    poisonView.total = p.total || 0;
    $("#poison-count").textContent = String(poisonView.total);
    $("#poison-replay-all").disabled = poisonView.total === 0;
    $("#poison-empty").hidden = msgs.length > 0;
    const keep = new Set(msgs.map((m) => m.uuid));
    for (const id of poisonView.results.keys()) if (!keep.has(id)) poisonView.results.delete(id);
    const items = msgs
      .slice()
      .reverse() // newest first
      .map((m) => {
        const details = el(
          "details",
          { open: poisonView.open.has(m.uuid) },
          el("summary", {}, `payload (${plural(m.payload_bytes, "byte")})`),
          // The server says what it cut: payload_bytes counts bytes, m.payload.length UTF-16 units.
          el("pre", {}, m.payload + (m.payload_cut ? "\n… cut: the rest is in GET /poison" : "")),
        );
        details.addEventListener("toggle", () => (details.open ? poisonView.open.add(m.uuid) : poisonView.open.delete(m.uuid)));
        const res = poisonView.results.get(m.uuid);
        const busy = poisonView.busy.has(m.uuid);
        return el(
          "li",
          { "data-uuid": m.uuid, "data-stage": m.stage },
          el(
            "div",
            { class: "msg-head" },
            el("span", { class: "pill", title: "the stage it failed in" }, m.stage || "?"),
            el("span", { class: "pill", "data-state": m.error_class === "permanent" ? "error" : "pending", title: "error class" }, m.error_class || "?"),
            el("span", { class: "msg-id", title: m.uuid }, short(m.uuid)),
            el(
              "span",
              { class: "msg-actions" },
              el("button", { type: "button", class: "small replay", "data-action": "replay", disabled: busy }, "Replay"),
              el("button", { type: "button", class: "small danger delete", "data-action": "delete", disabled: busy }, "Delete"),
            ),
          ),
          el("div", { class: "msg-reason" }, m.reason),
          el(
            "div",
            { class: "msg-meta" },
            meta("attempts", m.attempts),
            el("span", {}, "failed ", when(m.last_failed_at)),
            meta("user", m.user_id),
            meta("connection", m.connection_id),
            meta("topic", m.topic),
            meta("source", m.event_source),
            meta("correlation", m.correlation_id),
          ),
          details,
          el("div", { class: "msg-result", "data-outcome": res ? res.outcome : null, hidden: !res }, res ? res.text : ""),
        );
      });
    $("#poison-list").replaceChildren(...items);
  }

  // ---- metrics and the chart --------------------------------------------------

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  // niceMax rounds v up to 1, 2 or 5 times a power of ten, so the scale reads well.
  function niceMax(v, floor) {
    const x = Math.max(v, floor);
    const p = Math.pow(10, Math.floor(Math.log10(x)));
    for (const m of [1, 2, 5, 10]) if (x <= m * p) return m * p;
    return 10 * p;
  }

  // drawChart draws series (each { values, color, dashed, fill }, a value per sample)
  // over the seconds that end at the last sample, on a scale of at least floor.
  function drawChart(canvas, samples, series, floor) {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth;
    const h = canvas.clientHeight;
    if (!w || !h) return;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    const g = canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const muted = cssVar("--muted") || "#6b7385";
    const line = cssVar("--line") || "#e3e7ee";
    const left = 34;
    const right = 6;
    const top = 6;
    const bottom = 16;
    const pw = w - left - right;
    const ph = h - top - bottom;

    let max = floor;
    for (const s of series) for (const v of s.values) if (Number.isFinite(v)) max = Math.max(max, v);
    max = niceMax(max, floor);

    g.font = "10.5px system-ui, sans-serif";
    g.fillStyle = muted;
    g.strokeStyle = line;
    g.lineWidth = 1;
    g.textAlign = "right";
    g.textBaseline = "middle";
    for (const f of [0, 0.5, 1]) {
      const y = Math.round(top + ph - f * ph) + 0.5;
      g.beginPath();
      g.moveTo(left, y);
      g.lineTo(w - right, y);
      g.stroke();
      const v = max * f;
      g.fillText(v >= 10 || v === 0 ? v.toFixed(0) : v.toFixed(1), left - 5, y);
    }
    // The last 60 s, or as many as there are (20 s at least) when the pusher is younger.
    const end = samples.length ? samples[samples.length - 1].t : 0;
    const span = samples.length ? Math.min(60000, Math.max(20000, end - samples[0].t)) : 60000;
    g.textBaseline = "alphabetic";
    g.textAlign = "left";
    g.fillText(`−${Math.round(span / 1000)} s`, left, h - 3);
    g.textAlign = "right";
    g.fillText("now", w - right, h - 3);

    if (samples.length === 0) {
      g.textAlign = "center";
      g.fillText("waiting for the first samples…", left + pw / 2, top + ph / 2);
      return;
    }
    const x = (t) => left + pw * (1 - (end - t) / span);
    const y = (v) => top + ph - (Math.min(v, max) / max) * ph;
    for (const s of series) {
      const pts = samples.map((smp, i) => [x(smp.t), y(s.values[i] || 0)]).filter(([px]) => px >= left - 0.5);
      if (pts.length === 0) continue;
      if (s.fill) {
        g.beginPath();
        g.moveTo(pts[0][0], top + ph);
        for (const [px, py] of pts) g.lineTo(px, py);
        g.lineTo(pts[pts.length - 1][0], top + ph);
        g.closePath();
        g.fillStyle = s.fill;
        g.fill();
      }
      g.beginPath();
      pts.forEach(([px, py], i) => (i ? g.lineTo(px, py) : g.moveTo(px, py)));
      g.strokeStyle = s.color;
      g.lineWidth = s.dashed ? 1.2 : 1.8;
      g.setLineDash(s.dashed ? [3, 3] : []);
      g.lineJoin = "round";
      g.stroke();
      g.setLineDash([]);
    }
  }

  function renderMetrics() {
    const ss = state.samples;
    const last = ss[ss.length - 1];
    $("#metric-delivered").textContent = last ? String(last.delivered) : "0";
    $("#metric-requests").textContent = last ? String(last.requests) : "0";
    $("#metric-inflight").textContent = last ? String(last.in_flight) : "0";
    $("#metric-latency").textContent = last && last.posts > 0 ? ms(last.post_ms_avg) : "–";
    // Pacing: the rate the pipeline last reported (none while posts are unpaced), the
    // posts the gateway throttled (429) and how long a delivery waited for its turn.
    const rate = last ? last.post_rate || 0 : 0;
    const throttled = last ? last.throttled || 0 : 0;
    $("#metric-post-rate").textContent = rate > 0 ? String(Math.round(rate)) : "–";
    $("#stat-post-rate").dataset.paced = String(rate > 0);
    $("#metric-throttled").textContent = String(throttled);
    $("#stat-throttled").dataset.throttled = String(throttled > 0);
    $("#metric-wait").textContent = last && last.waits > 0 ? ms(last.wait_ms_avg) : "–";
    $("#legend-post-rate").hidden = !ss.some((s) => s.post_rate > 0);
    // What the chart holds, for a reader that cannot see a canvas (and for tests).
    const chart = $("#chart-deliveries");
    chart.dataset.samples = String(ss.length);
    chart.dataset.delivered = String(ss.reduce((n, s) => n + (s.delivered || 0), 0));
    chart.dataset.throttled = String(ss.reduce((n, s) => n + (s.throttled || 0), 0));
    chart.dataset.postRate = String(rate);
    drawCharts();
  }

  function drawCharts() {
    const ss = state.samples;
    const series = [{ values: ss.map((s) => s.delivered), color: "#2f6fed", fill: "rgba(47,111,237,.12)" }];
    if (ss.some((s) => s.post_rate > 0)) series.push({ values: ss.map((s) => s.post_rate || 0), color: "#5b6b8c", dashed: true });
    series.push({ values: ss.map((s) => s.throttled || 0), color: "#d93f36" });
    drawChart($("#chart-deliveries"), ss, series, 1);
    drawChart(
      $("#chart-latency"),
      ss,
      [
        { values: ss.map((s) => (s.posts > 0 ? s.post_ms_max : 0)), color: "#e08a1e", dashed: true },
        { values: ss.map((s) => (s.posts > 0 ? s.post_ms_avg : 0)), color: "#e08a1e", fill: "rgba(224,138,30,.12)" },
      ],
      1,
    );
  }

  // ---- start ------------------------------------------------------------------

  function refreshRelativeTimes() {
    for (const t of document.querySelectorAll("time[data-relative]")) {
      const text = ago(t.getAttribute("datetime"));
      if (t.textContent !== text) t.textContent = text;
    }
  }

  $("#send-form").addEventListener("submit", onSend);
  $("#send-data").addEventListener("input", () => {
    $("#send-data").classList.remove("invalid");
    showSendError("");
  });
  $("#client-form").addEventListener("submit", onConnect);
  $("#client-disconnect").addEventListener("click", () => {
    if (ws) ws.close(1000, "closed from the console");
  });
  $("#client-sub-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sendAction("subscribe");
  });
  $("#client-unsubscribe").addEventListener("click", () => sendAction("unsubscribe"));
  $("#client-clear").addEventListener("click", () => $("#client-frames").replaceChildren());
  $("#poison-list").addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-action]");
    const li = b && b.closest("li[data-uuid]");
    if (li) poisonAction(li.dataset.uuid, b.dataset.action);
  });
  $("#poison-replay-all").addEventListener("click", replayAll);
  window.addEventListener("resize", drawCharts);
  setInterval(refreshRelativeTimes, 1000);
  setClientState("closed", "disconnected");
  renderMetrics();
  startEvents();
})();
