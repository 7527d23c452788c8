// The orchestrator's dashboard: polls the guarded REST API (/api/v1) with the caller's own
// credentials and renders what it answers. Plain script, no framework, no build step.
// Every piece of data goes into the page as text (textContent, setAttribute), never as HTML.
"use strict";

(function () {
  const TOKEN_KEY = "molt-lms-control-token";
  const ATTEMPT_KEY = "molt-lms-last-attempt";
  const DEFAULT_REFRESH_MS = 1000;
  const MIN_REFRESH_MS = 250;
  const MAX_ROWS = 200;

  // ---------------------------------------------------------------- small helpers

  const $ = (id) => document.getElementById(id);
  const arr = (x) => (Array.isArray(x) ? x : []);
  const obj = (x) => (x !== null && typeof x === "object" && !Array.isArray(x) ? x : {});
  const num = (x) => (typeof x === "number" && Number.isFinite(x) ? x : null);
  const str = (x) => (x === null || x === undefined ? "" : String(x));

  // An element with attributes (`class`, `data-*`, …) and children (strings become text).
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v;
      else e.setAttribute(k, str(v));
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : document.createTextNode(str(c)));
    }
    return e;
  }

  function setText(id, text) {
    const e = $(id);
    if (e) e.textContent = str(text);
  }

  function fmtInt(x) {
    const n = num(x);
    return n === null ? "–" : Math.round(n).toLocaleString("en-US");
  }

  function fmtSecs(x) {
    const n = num(x);
    if (n === null) return "–";
    if (n < 1) return Math.round(n * 1000) + " ms";
    if (n < 120) return n.toFixed(1) + " s";
    return Math.floor(n / 60) + " min " + Math.round(n % 60) + " s";
  }

  function parseTime(s) {
    const t = typeof s === "string" ? Date.parse(s) : NaN;
    return Number.isFinite(t) ? t : null;
  }

  // `HH:MM:SS.mmm UTC`, the way the orchestrator's logs print time.
  function fmtTime(s) {
    const t = parseTime(s);
    return t === null ? str(s) : new Date(t).toISOString().slice(11, 23) + " UTC";
  }

  function storage(fn) {
    try {
      return fn(window.sessionStorage);
    } catch (e) {
      return null; // storage disabled: the token lives only as long as the form's use
    }
  }

  let memoryToken = null;
  const token = () => storage((s) => s.getItem(TOKEN_KEY)) || memoryToken;
  function setToken(t) {
    memoryToken = t || null;
    storage((s) => (t ? s.setItem(TOKEN_KEY, t) : s.removeItem(TOKEN_KEY)));
  }

  // ---------------------------------------------------------------- the URL fragment

  // `#token=…&refresh=ms`. The token is taken out of the address bar at once (fragments
  // never reach the server, so it is in no log either). `+` stays `+`: tokens are base64.
  function readFragment() {
    const params = new Map();
    for (const part of location.hash.replace(/^#/, "").split("&")) {
      if (!part) continue;
      const i = part.indexOf("=");
      const k = i < 0 ? part : part.slice(0, i);
      let v = i < 0 ? "" : part.slice(i + 1);
      try {
        v = decodeURIComponent(v);
      } catch (e) {
        // not percent-encoded after all: keep it as it is
      }
      params.set(k, v);
    }
    if (params.has("token")) {
      if (params.get("token")) setToken(params.get("token"));
      params.delete("token");
      const rest = [...params].map(([k, v]) => k + "=" + encodeURIComponent(v)).join("&");
      history.replaceState(null, "", location.pathname + location.search + (rest ? "#" + rest : ""));
    }
    const refresh = Number(params.get("refresh"));
    return Number.isFinite(refresh) && refresh >= MIN_REFRESH_MS ? refresh : DEFAULT_REFRESH_MS;
  }

  // ---------------------------------------------------------------- the API

  // `{status, ok, body}` for an HTTP answer (body: parsed JSON or null), `{status: 0}`
  // when the orchestrator could not be reached.
  async function api(path) {
    const headers = { Accept: "application/json" };
    const t = token();
    if (t) headers.Authorization = "Bearer " + t;
    let resp;
    try {
      resp = await fetch(path, { headers, cache: "no-store", credentials: "same-origin" });
    } catch (e) {
      return { status: 0, ok: false, body: null };
    }
    let body = null;
    try {
      body = await resp.json();
    } catch (e) {
      body = null;
    }
    return { status: resp.status, ok: resp.ok, body };
  }

  const refused = (r) => r && (r.status === 401 || r.status === 403);

  // ---------------------------------------------------------------- page state

  function showAuth(refusedNow) {
    const box = $("auth");
    document.body.dataset.auth = refusedNow ? "refused" : "ok";
    if (refusedNow) {
      setText(
        "auth-message",
        token()
          ? "not authorised: the token this tab holds was refused; give the control-plane token."
          : "not authorised: give the control-plane token (or open this page with a client certificate the orchestrator trusts)."
      );
    }
    box.hidden = !refusedNow;
    document.querySelector("main").hidden = refusedNow;
  }

  let lastUpdate = null;

  function showConnection(ok, why) {
    const banner = $("banner");
    document.body.dataset.connection = ok ? "ok" : "lost";
    banner.hidden = ok;
    if (!ok) {
      banner.textContent =
        "connection lost: " + why + "; retrying" + (lastUpdate ? " (last update " + lastUpdate + ")" : "");
    }
  }

  function markUpdated() {
    lastUpdate = new Date().toISOString().slice(11, 19) + " UTC";
    setText("updated", "last updated " + lastUpdate + " · refreshes every " + fmtSecs(refreshMs / 1000));
  }

  // ---------------------------------------------------------------- summary and proxies

  function renderSummary(s, connections) {
    const sot = str(s.source_of_truth) || "–";
    setText("source-of-truth", sot);
    $("source-of-truth").dataset.value = sot;
    setText("epoch", fmtInt(s.epoch));
    const active = num(s.active_attempt);
    setText("transitioning", s.transitioning ? "attempt " + (active === null ? "?" : active) + " in progress" : "idle");
    $("transitioning").dataset.value = s.transitioning ? "transitioning" : "idle";
    setText("dialects", (str(s.source_dialect) || "?") + " → " + (str(s.target_dialect) || "?"));
    setText("version", str(s.version) || "–");
    setText("connection-total", connections === null ? "–" : fmtInt(connections));
    document.title = (s.transitioning ? "cutover · " : "") + "molt-lms · " + sot;
  }

  function leaseText(entry, report) {
    if (report.fenced) return "ran out: new transactions held";
    const seen = num(entry.last_seen_secs);
    const ago = seen === null ? "" : ", seen " + fmtSecs(seen) + " ago";
    return (entry.liveness === "lost" ? "lost" : "ok") + ago;
  }

  function renderProxies(s, statusRows) {
    const byAddr = new Map(arr(statusRows).map((r) => [str(obj(r).lms_address), obj(r)]));
    const body = document.querySelector("#proxies tbody");
    const rows = arr(s.proxies).map((p) => {
      const entry = obj(p);
      const reg = obj(entry.registration);
      const report = obj(entry.report);
      const addr = str(reg.lms_address);
      const row = byAddr.get(addr) || {};
      const ps = obj(row.status);
      const phase = str(report.phase) || "unknown";
      const notes = [];
      if (ps.draining) notes.push("draining");
      const blockers = arr(report.blockers).length;
      if (blockers) notes.push(blockers + " blocking session" + (blockers === 1 ? "" : "s"));
      if (report.error) notes.push(str(report.error));
      if (row.error) notes.push(str(row.error));
      const sot = str(report.source_of_truth);
      return el(
        "tr",
        { "data-proxy": addr, "data-phase": phase, "data-liveness": str(entry.liveness) },
        el("td", { class: "mono" }, addr),
        el("td", { class: "liveness-" + str(entry.liveness) }, str(entry.liveness) || "–"),
        el("td", {}, el("span", { class: "phase phase-" + phase, "data-field": "phase" }, phase)),
        el("td", { class: sot && sot !== str(s.source_of_truth) ? "warn" : "" }, sot || "–"),
        el("td", { class: "num" }, fmtInt(report.epoch)),
        el("td", { class: report.fenced ? "warn" : "" }, leaseText(entry, report)),
        el("td", { class: "num", "data-field": "connections" }, fmtInt(report.connections ?? ps.open_connections)),
        el("td", { class: "num" }, fmtInt(report.held)),
        el("td", {}, str(reg.shadow_mode) || "–"),
        el("td", {}, str(reg.version) || "–"),
        el("td", { class: notes.length ? "warn" : "muted" }, notes.join("; ") || "–")
      );
    });
    body.replaceChildren(...rows);
    $("proxies").hidden = rows.length === 0;
    $("proxies-empty").hidden = rows.length > 0;
  }

  // ---------------------------------------------------------------- the cutover timeline

  // The attempt's events in the order they happen: begin, each proxy's pause-ack, every
  // proxy paused, the replication gate (it runs before the preparation and records only
  // the lag), the preparation and each proxy's prepared report, then commit or abort.
  function timelineEvents(a) {
    const events = [];
    const proxies = arr(a.proxies).map(obj);
    const final = a.status === "CommitCompleted" || a.status === "AbortCompleted";
    const byTime = (key) => (x, y) => (parseTime(x[key]) ?? Infinity) - (parseTime(y[key]) ?? Infinity);
    events.push({ event: "begin", time: a.trigger_time, label: "begin: " + str(a.from) + " → " + str(a.to) });
    const acked = proxies.filter((p) => p.traffic_paused_time).sort(byTime("traffic_paused_time"));
    for (const p of acked) {
      events.push({ event: "pause-ack", proxy: p.lms_address, time: p.traffic_paused_time, label: "pause-ack" });
    }
    const stopped = a.end_time || final;
    for (const p of proxies.filter((p) => !p.traffic_paused_time)) {
      const waiting = [fmtInt(p.held) + " of " + fmtInt(p.connections) + " sessions held"];
      const blockers = arr(p.blockers).map(obj);
      if (blockers.length) {
        waiting.push(
          "blocked by " +
            blockers
              .map((b) => "connection " + str(b.connection_id) + " (" + str(b.state) + (num(b.transaction_age_secs) !== null ? ", transaction open " + fmtSecs(b.transaction_age_secs) : "") + ")")
              .join(", ")
        );
      }
      events.push({
        event: "pause-ack",
        proxy: p.lms_address,
        pending: !stopped,
        label: stopped ? "never paused" : "waiting for pause-ack",
        detail: stopped ? str(p.error) : waiting.join("; "),
      });
    }
    if (a.traffic_paused_time) {
      events.push({ event: "paused", time: a.traffic_paused_time, label: "traffic paused on every proxy" });
    }
    const gate = a.replication_gate ? obj(a.replication_gate) : null;
    if (gate) {
      events.push({
        event: "gate",
        pending: true,
        label: "waiting for replication (" + (str(gate.check) || "token") + " check)",
        detail: fmtInt(gate.elapsed_ms) + " ms, " + fmtInt(gate.polls) + " polls, gives up at " + fmtInt(gate.timeout_ms) + " ms",
      });
    } else if (num(a.replication_lag_ms) !== null) {
      const check = a.replication_check ? " (" + str(a.replication_check) + " check)" : "";
      events.push({ event: "gate", label: "replication gate passed" + check, detail: "lag " + fmtInt(a.replication_lag_ms) + " ms" });
    }
    if (a.prepare_started_time) {
      events.push({ event: "prepare", time: a.prepare_started_time, label: "commit: preparing sessions on the " + str(a.to) });
      for (const p of proxies.filter((p) => p.prepared_time).sort(byTime("prepared_time"))) {
        const prep = obj(p.prepare);
        const failures = arr(prep.failures).length;
        const detail =
          fmtInt(prep.sessions) + " sessions, " + fmtInt(prep.statements) + " statements" + (failures ? ", " + failures + " failed" : "");
        events.push({ event: "prepared", proxy: p.lms_address, time: p.prepared_time, label: "prepared", detail });
      }
    }
    const ended = proxies.filter((p) => p.end_time).sort(byTime("end_time"));
    for (const p of ended) {
      const what = p.status === "CommitCompleted" ? "switched" : p.status === "AbortCompleted" ? "resumed" : str(p.status);
      events.push({ event: "proxy-end", proxy: p.lms_address, time: p.end_time, label: what, detail: str(p.error) });
    }
    if (a.end_time) {
      const kind = a.status === "CommitCompleted" ? "commit" : a.status === "AbortCompleted" ? "abort" : "error";
      const label = kind === "commit" ? "committed: the " + str(a.source_of_truth) + " is the source of truth" : kind === "abort" ? "aborted: traffic resumed on the " + str(a.source_of_truth) : "ended: " + str(a.status);
      events.push({ event: kind, time: a.end_time, label, detail: str(a.error) });
    } else if (a.status === "CommitStarted" || a.status === "AbortStarted") {
      const kind = a.status === "CommitStarted" ? "commit" : "abort";
      events.push({ event: kind, pending: true, label: kind === "commit" ? "committing…" : "aborting…" });
    }
    return events;
  }

  function renderAttempt(resp, id) {
    const list = $("timeline");
    if (id === null) {
      setText("attempt-title", "");
      setText("attempt-summary", "No cutover attempt seen yet.");
      list.replaceChildren();
      return;
    }
    setText("attempt-title", "attempt " + id);
    if (!resp || !resp.ok) {
      setText("attempt-summary", "attempt " + id + " unavailable (HTTP " + (resp ? resp.status : "?") + ")");
      list.replaceChildren();
      return;
    }
    const a = obj(resp.body);
    const begin = parseTime(a.trigger_time);
    const parts = ["status " + (str(a.status) || "?"), str(a.from) + " → " + str(a.to), "source of truth now: " + str(a.source_of_truth)];
    if (a.error) parts.push("error: " + str(a.error));
    setText("attempt-summary", parts.join(" · "));
    $("attempt-summary").dataset.status = str(a.status);
    list.dataset.attempt = str(a.id ?? id);
    list.replaceChildren(
      ...timelineEvents(a).map((e) => {
        const t = parseTime(e.time);
        const offset = t !== null && begin !== null ? "+" + ((t - begin) / 1000).toFixed(3) + " s" : "";
        return el(
          "li",
          { "data-event": e.event, "data-proxy": e.proxy, "data-state": e.pending ? "pending" : "done", class: "event event-" + e.event + (e.pending ? " pending" : "") },
          el("span", { class: "when mono" }, e.time ? fmtTime(e.time) : ""),
          el("span", { class: "offset mono" }, offset),
          el("span", { class: "what" }, e.label),
          e.proxy ? el("span", { class: "who mono" }, str(e.proxy)) : null,
          e.detail ? el("span", { class: "detail" }, e.detail) : null
        );
      })
    );
  }

  // ---------------------------------------------------------------- verification

  function renderVerify(resp) {
    const table = $("verify-tables");
    const bar = $("verify-progress");
    const summary = $("verify-summary");
    const none = (text, state) => {
      summary.textContent = text;
      summary.dataset.verify = state;
      table.hidden = true;
      bar.hidden = true;
    };
    if (!resp || resp.status === 404 || (resp.ok && Array.isArray(resp.body) && resp.body.length === 0)) {
      return none("verification: none run", "none");
    }
    if (!resp.ok || !Array.isArray(resp.body)) {
      return none("verification: unavailable (HTTP " + resp.status + ")", "unavailable");
    }
    const run = obj(resp.body[0]);
    const total = num(run.tables_total);
    const done = num(run.tables_done);
    const parts = ["run " + str(run.id) + ": " + (str(run.status) || "?")];
    parts.push("tables " + fmtInt(done) + " / " + fmtInt(total));
    parts.push(fmtInt(run.rows_checked) + " rows checked");
    if (run.status === "running") {
      if (num(run.rows_per_second) !== null) parts.push(fmtInt(run.rows_per_second) + " rows/s");
      parts.push("ETA " + (num(run.eta_seconds) === null ? "unknown" : fmtSecs(run.eta_seconds)));
    }
    if (run.started_at) parts.push("started " + fmtTime(run.started_at));
    if (run.finished_at) parts.push("finished " + fmtTime(run.finished_at));
    if (num(run.resumes)) parts.push("resumed " + run.resumes + "×");
    if (run.error) parts.push("error: " + str(run.error));
    summary.textContent = parts.join(" · ");
    summary.dataset.verify = str(run.status) || "unknown";
    bar.hidden = !(total && done !== null);
    if (total) {
      bar.max = total;
      bar.value = Math.min(done || 0, total);
    }
    const rows = arr(run.tables).map(obj).map((t) =>
      el(
        "tr",
        { "data-table": str(t.source_table), "data-status": str(t.status) },
        el("td", { class: "mono" }, str(t.source_table)),
        el("td", { class: "mono" }, str(t.target_table)),
        el("td", { class: "verify-" + str(t.status) }, str(t.status) || "–"),
        el("td", { class: "num" }, fmtInt(t.source_rows)),
        el("td", { class: "num" }, fmtInt(t.target_rows)),
        el("td", { class: "num" }, fmtInt(t.rows_checked)),
        el("td", { class: "num" + (num(t.mismatched) ? " bad" : "") }, fmtInt(t.mismatched)),
        el("td", { class: "num" + (num(t.missing) ? " bad" : "") }, fmtInt(t.missing)),
        el("td", { class: "num" + (num(t.extra) ? " bad" : "") }, fmtInt(t.extra)),
        el("td", {}, str(t.error))
      )
    );
    table.querySelector("tbody").replaceChildren(...rows);
    table.hidden = rows.length === 0;
  }

  // ---------------------------------------------------------------- shadow and connections

  function renderShadow(resp) {
    const body = document.querySelector("#shadow tbody");
    if (!resp || !resp.ok) {
      setText("shadow-summary", "shadow report unavailable (HTTP " + (resp ? resp.status : "?") + ")");
      body.replaceChildren();
      $("shadow").hidden = true;
      return;
    }
    const r = obj(resp.body);
    const totals = obj(r.totals);
    const modes = arr(r.proxies).map((p) => str(obj(p).lms_address) + " (" + str(obj(p).shadow_mode) + ")");
    const parts = [fmtInt(arr(r.fingerprints).length) + " fingerprints", fmtInt(totals.matched) + " matched", fmtInt(totals.mismatched) + " mismatched", fmtInt(totals.shadow_errors) + " shadow errors"];
    if (modes.length) parts.push("proxies: " + modes.join(", "));
    if (arr(r.unreachable).length) parts.push("unreachable: " + arr(r.unreachable).map(str).join(", "));
    setText("shadow-summary", parts.join(" · "));
    const rows = arr(r.fingerprints)
      .slice(0, MAX_ROWS)
      .map(obj)
      .map((f) => {
        const c = obj(f.counts);
        const total = ["matched", "benign", "mismatched", "shadow_errors", "unchecked", "dropped"].reduce((n, k) => n + (num(c[k]) || 0), 0);
        const samples = arr(f.samples).map(obj);
        const last = samples[samples.length - 1];
        const latest = last ? str(last.differed) + ": " + str(last.detail) + " (" + str(last.proxy) + ")" : "";
        return el(
          "tr",
          { "data-fingerprint": str(f.id), "data-verdict": str(f.verdict) },
          el("td", { class: "verdict-" + str(f.verdict) }, str(f.verdict) || "–"),
          el("td", { class: "mono sql" }, str(f.fingerprint)),
          el("td", { class: "num" }, fmtInt(total)),
          el("td", { class: "num" }, fmtInt(c.matched)),
          el("td", { class: "num" }, fmtInt(c.benign)),
          el("td", { class: "num" }, fmtInt(c.mismatched)),
          el("td", { class: "num" }, fmtInt(c.shadow_errors)),
          el("td", { class: "num" }, fmtInt(c.unchecked)),
          el("td", { class: "num" }, fmtInt(c.dropped)),
          el("td", {}, latest)
        );
      });
    body.replaceChildren(...rows);
    $("shadow").hidden = rows.length === 0;
  }

  function renderConnections(resp) {
    const body = document.querySelector("#connections tbody");
    if (!resp || !resp.ok || !Array.isArray(resp.body)) {
      setText("connections-summary", "connections unavailable (HTTP " + (resp ? resp.status : "?") + ")");
      body.replaceChildren();
      $("connections").hidden = true;
      return null;
    }
    const list = resp.body.map(obj);
    const byState = new Map();
    for (const c of list) byState.set(str(c.state), (byState.get(str(c.state)) || 0) + 1);
    const states = [...byState].sort().map(([s, n]) => n + " " + s.replace(/_/g, " "));
    setText("connections-summary", fmtInt(list.length) + " client connections" + (states.length ? ": " + states.join(", ") : "") + (list.length > MAX_ROWS ? " (first " + MAX_ROWS + " shown)" : ""));
    body.replaceChildren(
      ...list.slice(0, MAX_ROWS).map((c) =>
        el(
          "tr",
          { "data-connection": str(c.id), "data-state": str(c.state) },
          el("td", { class: "num" }, str(c.id)),
          el("td", { class: "mono" }, str(c.remote_address)),
          el("td", { class: "mono" }, str(c.source_address)),
          el("td", {}, str(c.user)),
          el("td", {}, str(c.database)),
          el("td", { class: "state-" + str(c.state) }, str(c.state).replace(/_/g, " ")),
          el("td", { class: "num" }, num(c.transaction_age_secs) === null ? "" : fmtSecs(c.transaction_age_secs)),
          el("td", { class: "mono" }, fmtTime(c.connected_at)),
          el("td", {}, str(c.source_of_truth)),
          el("td", {}, str(c.error))
        )
      )
    );
    $("connections").hidden = list.length === 0;
    return list.length;
  }

  // ---------------------------------------------------------------- the poll loop

  let attemptId = num(Number(storage((s) => s.getItem(ATTEMPT_KEY)) ?? NaN));
  let timer = null;

  async function poll() {
    const status = await api("/api/v1/status");
    if (refused(status)) {
      showConnection(true);
      showAuth(true);
      return;
    }
    if (!status.ok) {
      showConnection(false, status.status ? "the orchestrator answered HTTP " + status.status : "the orchestrator cannot be reached");
      return;
    }
    const s = obj(status.body);
    const active = num(s.active_attempt) ?? num(s.latest_attempt);
    if (active !== null && active !== attemptId) {
      attemptId = active;
      storage((st) => st.setItem(ATTEMPT_KEY, String(active)));
    }
    const [proxies, connections, shadow, verify, attempt] = await Promise.all([
      api("/api/v1/proxies/status"),
      api("/api/v1/connections"),
      api("/api/v1/shadow"),
      api("/api/v1/verify"),
      attemptId === null ? Promise.resolve(null) : api("/api/v1/cutover/" + attemptId),
    ]);
    if ([proxies, connections, shadow, verify, attempt].some(refused)) {
      showAuth(true);
      return;
    }
    showAuth(false);
    showConnection(true);
    renderProxies(s, proxies.ok ? proxies.body : []);
    renderSummary(s, renderConnections(connections));
    if (attempt && attempt.status === 404) {
      // Remembered from another orchestrator (or its metadata was reset): forget it.
      attemptId = null;
      storage((st) => st.removeItem(ATTEMPT_KEY));
    }
    renderAttempt(attempt, attemptId);
    renderVerify(verify);
    renderShadow(shadow);
    markUpdated();
  }

  let refreshMs = DEFAULT_REFRESH_MS;

  // One poll after `delay`, then one every `refreshMs` after each answer (never two at once).
  function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      try {
        await poll();
      } catch (e) {
        showConnection(false, "the page could not render an answer (" + str(e && e.message) + ")");
      }
      schedule(refreshMs);
    }, delay);
  }

  function start() {
    refreshMs = readFragment();
    $("token-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const input = $("token-input");
      const t = input.value.trim();
      input.value = "";
      if (t) setToken(t);
      schedule(0);
    });
    $("token-forget").addEventListener("click", () => {
      setToken(null);
      schedule(0);
    });
    window.addEventListener("hashchange", () => {
      refreshMs = readFragment();
      schedule(0);
    });
    schedule(0);
  }

  start();
})();
