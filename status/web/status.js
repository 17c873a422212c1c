// status.js draws the status page from /status/events: one sample a
// second, the last minute's first. Everything is written as text.
"use strict";
(function () {
  const keep = 60;
  const series = { t: [], onTime: [], partial: [], late: [], refused: [], p50: [], p99: [], max: [] };
  window.__status = { samples: 0, last: null };
  const conn = document.getElementById("conn");
  const charts = {};

  function chart(id, labels, scale) {
    const el = document.getElementById(id);
    const opts = {
      width: Math.max(el.clientWidth, 320), height: 200,
      series: [{}].concat(labels.map(([label, stroke]) => ({ label, stroke, width: 1.5 }))),
      axes: [{ values: "{HH}:{mm}:{ss}", space: 70 }, { values: (u, vals) => vals.map(v => v.toFixed(scale)) }],
      legend: { live: false },
    };
    return new uPlot(opts, [[]].concat(labels.map(() => [])), el);
  }

  function set(id, rows) {
    const dl = document.getElementById(id);
    dl.replaceChildren(...rows.flatMap(([k, v]) => {
      const dt = document.createElement("dt"); dt.textContent = k;
      const dd = document.createElement("dd"); dd.textContent = v;
      return [dt, dd];
    }));
  }

  const n = v => v.toLocaleString(undefined, { maximumFractionDigits: 1 });
  const ms = v => (v * 1000).toFixed(1) + " ms";
  const mib = v => (v / 1048576).toFixed(1) + " MiB";

  function jobs(list, port) {
    const body = document.getElementById("jobs");
    body.replaceChildren(...list.map(j => {
      const tr = document.createElement("tr");
      const a = document.createElement("a");
      a.textContent = j.id;
      a.href = location.protocol + "//" + location.hostname + ":" + port + "/jobs/" + encodeURIComponent(j.id);
      const cells = [a, j.state, j.settled + " / " + j.total, String(j.numbers)];
      tr.replaceChildren(...cells.map(c => {
        const td = document.createElement("td");
        if (typeof c === "string") td.textContent = c; else td.append(c);
        return td;
      }));
      return tr;
    }));
  }

  function draw(s) {
    const refused = Object.values(s.refused).reduce((a, b) => a + b, 0);
    const push = (k, v) => { series[k].push(v); if (series[k].length > keep) series[k].shift(); };
    push("t", s.t); push("onTime", s.onTime); push("partial", s.partial); push("late", s.late); push("refused", refused);
    push("p50", s.p50 * 1000); push("p99", s.p99 * 1000); push("max", s.maxBelow * 1000);
    if (!charts.rates) {
      charts.rates = chart("rates", [["on time", "#2a7a3b"], ["partial", "#b7791f"], ["late", "#c53030"], ["refused", "#6b46c1"]], 0);
      charts.latency = chart("latency", [["p50", "#2b5797"], ["p99", "#c05621"], ["max ≤", "#c53030"]], 0);
    }
    charts.rates.setData([series.t, series.onTime, series.partial, series.late, series.refused]);
    charts.latency.setData([series.t, series.p50, series.p99, series.max]);
    set("now", [["on time /s", n(s.onTime)], ["partial /s", n(s.partial)], ["late /s", n(s.late)],
      ["in flight", n(s.inFlight)], ["goroutines", n(s.goroutines)], ["answer margin", ms(s.margin)],
      ["p50 / p99", ms(s.p50) + " / " + ms(s.p99)]]);
    set("refused", Object.entries(s.refused).map(([k, v]) => [k, n(v)]));
    set("upstreams", [["hosts healthy", n(s.hosts.healthy)], ["ejected", n(s.hosts.ejected)], ["probing", n(s.hosts["half-open"])],
      ["live fetch p50", ms(s.fetchP50)], ["coalesced /s", n(s.coalesced)]]
      .concat(Object.entries(s.outcomes).map(([k, v]) => [k + " /s", n(v)])));
    set("cache", [["entries", n(s.cacheEntries)], ["hit ratio (1 min)", (s.hitRatio * 100).toFixed(1) + " %"],
      ["from cache /s", n(s.outcomes.cached + s.outcomes.stale)],
      ["Redis", s.redisUp === undefined ? "not used" : (s.redisUp ? "reachable" : "out of reach")]]);
    set("memory", [["heap", mib(s.heap)], ["RSS", mib(s.rss)], ["longest GC pause", ms(s.gcPauseMax)]]);
    jobs(s.jobs, s.publicPort);
    window.__status.samples++;
    window.__status.last = s;
  }

  const es = new EventSource("/status/events");
  es.onopen = () => { conn.textContent = "live"; conn.className = "state live"; };
  es.onerror = () => { conn.textContent = "reconnecting"; conn.className = "state reconnecting"; };
  es.onmessage = e => draw(JSON.parse(e.data));
})();
