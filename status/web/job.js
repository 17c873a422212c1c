// job.js follows one job's event stream with the browser's EventSource,
// which reconnects with Last-Event-ID when the server closes the stream.
// Caller input (URLs, errors) is only ever written as text.
"use strict";
(function () {
  const id = decodeURIComponent(location.pathname.replace(/^\/jobs\//, ""));
  const base = "/jobs/" + encodeURIComponent(id);
  const $ = x => document.getElementById(x);
  const conn = $("conn");
  // __job exposes what the page received, for tests: every event's id and
  // type in arrival order, and the states the page showed.
  window.__job = { events: [], states: [], final: null };
  let total = 0, settled = 0, fetching = false, again = false;

  function state(s) {
    conn.textContent = s; conn.className = "state " + s;
    window.__job.states.push(s);
  }
  $("id").textContent = id;

  function cell(tr, text) { const td = document.createElement("td"); td.textContent = text; tr.append(td); }

  function progress() {
    $("bar").max = Math.max(total, 1); $("bar").value = settled;
    $("progress").textContent = settled + " of " + total + " upstreams settled";
  }

  function show(doc) {
    total = doc.upstreams.total; settled = doc.upstreams.settled; progress();
    $("numbers").textContent = doc.numbers.join(", ");
  }

  // refresh reads the job's document for the numbers merged so far, one
  // read at a time.
  async function refresh() {
    if (fetching) { again = true; return; }
    fetching = true;
    try {
      const r = await fetch(base, { headers: { Accept: "application/json" } });
      if (r.ok && !window.__job.final) show(await r.json());
    } catch (e) { /* the stream's state says it */ }
    fetching = false;
    if (again) { again = false; refresh(); }
  }

  const es = new EventSource(base + "/events");
  es.onopen = () => state("live");
  es.onerror = () => { if (!window.__job.final) state(es.readyState === EventSource.CLOSED ? "closed" : "reconnecting"); };
  es.addEventListener("upstream", e => {
    window.__job.events.push({ id: Number(e.lastEventId), type: "upstream" });
    const u = JSON.parse(e.data);
    const tr = document.createElement("tr");
    cell(tr, e.lastEventId); cell(tr, u.url); cell(tr, u.outcome); cell(tr, String(u.count));
    $("upstreams").append(tr);
    settled++; progress();
    refresh();
  });
  es.addEventListener("done", e => {
    window.__job.events.push({ id: Number(e.lastEventId), type: "done" });
    es.close();
    const doc = JSON.parse(e.data);
    window.__job.final = doc;
    show(doc);
    $("final").textContent = doc.status + (doc.complete ? ", complete" : ", partial") + ": " + doc.numbers.length + " numbers" +
      (doc.error ? " (" + doc.error + ")" : "");
    state("ended");
  });
  fetch(base, { headers: { Accept: "application/json" } }).then(r => r.ok ? r.json() : null).then(d => { if (d && !window.__job.final) show(d); }, () => {});
})();
