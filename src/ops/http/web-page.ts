// The web page's three files, as strings (so that src/ and dist/ serve the
// same without a copy step). No framework, no build: plain DOM and a canvas.
// The matrix is drawn on a canvas, one rectangle per cell; a 'cells' event
// repaints only the cells it names, so 300 × 300 stays smooth.
// (Kept free of backquotes and dollar-brace: the files are template strings.)

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ixrs</title>
<link rel="stylesheet" href="/web/app.css">
</head>
<body>
<header>
  <h1>ixrs</h1>
  <span id="conn" class="conn off">connecting</span>
  <span id="counts"></span>
  <nav><a href="/metrics">metrics</a> <a href="/status">status</a> <a href="/protocols/bgp">protocols</a></nav>
</header>
<main>
  <section id="matrix-section">
    <h2>Reachability: client (row) × next-hop owner (column)</h2>
    <div id="legend"></div>
    <div id="matrix-wrap">
      <canvas id="matrix" width="10" height="10" aria-label="reachability matrix"></canvas>
      <div id="tip" hidden></div>
    </div>
    <p id="empty" hidden>No RS-BFD data: no client runs a reachability session yet.</p>
    <h3>Recent changes</h3>
    <ol id="changes"></ol>
  </section>
  <aside id="detail">
    <h2 id="detail-title">Cell detail</h2>
    <p id="detail-hint">Hover over a cell to see it; click to keep it here.</p>
    <div id="detail-body"></div>
  </aside>
  <section id="sessions-section">
    <h2>Sessions <span id="sessions-count"></span></h2>
    <table id="sessions">
      <thead><tr><th>client</th><th>ASN</th><th>address</th><th>state</th><th>BGP</th><th>since</th><th>received</th><th>sent</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
</main>
<script src="/web/app.js"></script>
</body>
</html>
`;

export const PAGE_CSS = `
:root { --fg: #1f2328; --muted: #656d76; --line: #d0d7de; --bg: #fff; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 1em; align-items: baseline; padding: 6px 12px; border-bottom: 1px solid var(--line); }
header h1 { font-size: 16px; margin: 0; }
header nav { margin-left: auto; }
header nav a { margin-left: 0.8em; color: var(--muted); }
.conn { padding: 0 6px; border-radius: 3px; color: #fff; }
.conn.on { background: #1a7f37; }
.conn.off { background: #9a6700; }
main { display: grid; grid-template-columns: minmax(0, 1fr) 360px; gap: 12px; padding: 12px; }
#sessions-section { grid-column: 1 / 3; }
h2 { font-size: 14px; margin: 0 0 6px; }
h3 { font-size: 13px; margin: 10px 0 4px; }
#legend span { display: inline-block; margin-right: 10px; }
#legend i { display: inline-block; width: 10px; height: 10px; margin-right: 3px; vertical-align: -1px; border: 1px solid #0002; }
#matrix-wrap { position: relative; overflow: auto; max-height: 80vh; border: 1px solid var(--line); margin-top: 6px; }
#matrix { display: block; image-rendering: pixelated; cursor: crosshair; }
#tip { position: absolute; pointer-events: none; background: #1f2328e6; color: #fff; padding: 3px 6px; border-radius: 3px; white-space: nowrap; font-size: 12px; }
#changes { margin: 0; padding-left: 1.6em; max-height: 10em; overflow: auto; color: var(--muted); }
#detail { border-left: 1px solid var(--line); padding-left: 12px; min-width: 0; }
#detail table, #sessions { border-collapse: collapse; width: 100%; }
#detail td, #detail th, #sessions td, #sessions th { text-align: left; padding: 1px 6px 1px 0; border-bottom: 1px solid #eaeef2; font-variant-numeric: tabular-nums; }
#detail .k { color: var(--muted); }
#detail tr.prefixes td { padding-left: 12px; font-family: ui-monospace, monospace; font-size: 12px; word-break: break-word; }
.st-up { color: #1a7f37; } .st-idle, .st-down { color: #cf222e; } .st-stale { color: #9a6700; }
.unreachable { color: #cf222e; font-weight: 600; } .damped { color: #9a6700; font-weight: 600; }
`;

export const PAGE_JS = String.raw`'use strict';
(function () {
  var COLOR = { '.': '#2da44e', '?': '#afb8c1', X: '#cf222e', x: '#ff8182', D: '#bf8700', '-': '#f6f8fa', '\\': '#57606a' };
  var NAME = { '.': 'reachable', '?': 'unknown', X: 'unreachable', x: 'partly unreachable', D: 'damped', '-': 'nothing requested', '\\': 'the client itself' };
  var SESSION = { up: '#2da44e', down: '#cf222e', disabled: '#ffffff' };
  var st = { owners: [], rows: [], ownerIdx: {}, rowIdx: {}, version: 0, cell: 8, left: 0, top: 0, pinned: null, hover: null, cache: {} };
  var canvas = document.getElementById('matrix');
  var ctx = canvas.getContext('2d');
  var tip = document.getElementById('tip');

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; });
  }
  function ago(iso) {
    if (!iso) return 'never';
    var s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    var t = s < 120 ? s + ' s' : s < 7200 ? Math.round(s / 60) + ' min' : Math.round(s / 3600) + ' h';
    return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') + ' (' + t + ' ago)';
  }

  function legend() {
    var h = '';
    ['.', '?', 'X', 'x', 'D', '-', '\\'].forEach(function (k) {
      h += '<span><i style="background:' + COLOR[k] + '"></i>' + esc(NAME[k]) + '</span>';
    });
    h += '<span>left bar: reachability session (green up, red down, white RS-BFD off)</span>';
    document.getElementById('legend').innerHTML = h;
  }

  function layout() {
    var n = Math.max(st.rows.length, st.owners.length, 1);
    var avail = Math.max(300, Math.min(window.innerWidth - 420, window.innerHeight - 120));
    st.cell = Math.max(3, Math.min(18, Math.floor(avail / n)));
    var labels = st.cell >= 10;
    ctx.font = '11px system-ui, sans-serif';
    var w = 0;
    if (labels) st.rows.forEach(function (r) { w = Math.max(w, ctx.measureText(r.client).width); });
    var h = 0;
    if (labels) st.owners.forEach(function (o) { h = Math.max(h, ctx.measureText(o).width); });
    st.left = (labels ? Math.ceil(w) + 6 : 0) + 5;
    st.top = labels ? Math.ceil(h) + 6 : 0;
    canvas.width = st.left + st.owners.length * st.cell + 1;
    canvas.height = st.top + st.rows.length * st.cell + 1;
    ctx.font = '11px system-ui, sans-serif';
    return labels;
  }

  function drawCell(i, j) {
    var c = st.cell;
    var ch = st.rows[i].cells.charAt(j);
    ctx.fillStyle = COLOR[ch] || '#fff';
    var g = c >= 6 ? 1 : 0;
    ctx.clearRect(st.left + j * c, st.top + i * c, c, c);
    ctx.fillRect(st.left + j * c, st.top + i * c, c - g, c - g);
  }
  var RGB = {};
  Object.keys(COLOR).forEach(function (k) {
    var h = COLOR[k];
    RGB[k] = [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)];
  });
  // Every cell at once, written as pixels (one putImageData: 90,000 cells in milliseconds).
  function drawGrid() {
    var c = st.cell;
    var w = st.owners.length * c;
    var h = st.rows.length * c;
    if (w === 0 || h === 0) return;
    var img = ctx.createImageData(w, h);
    var d = img.data;
    var g = c >= 6 ? 1 : 0;
    for (var i = 0; i < st.rows.length; i++) {
      var cells = st.rows[i].cells;
      for (var j = 0; j < st.owners.length; j++) {
        var rgb = RGB[cells.charAt(j)] || [255, 255, 255];
        for (var y = 0; y < c - g; y++) {
          var p = ((i * c + y) * w + j * c) * 4;
          for (var x = 0; x < c - g; x++, p += 4) {
            d[p] = rgb[0]; d[p + 1] = rgb[1]; d[p + 2] = rgb[2]; d[p + 3] = 255;
          }
        }
      }
    }
    ctx.putImageData(img, st.left, st.top);
  }
  function drawRowHead(i) {
    ctx.fillStyle = SESSION[st.rows[i].session] || '#fff';
    ctx.fillRect(st.left - 5, st.top + i * st.cell, 4, st.cell - (st.cell >= 6 ? 1 : 0));
  }

  function drawAll() {
    var labels = layout();
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (labels) {
      ctx.fillStyle = '#1f2328';
      ctx.textBaseline = 'middle';
      ctx.textAlign = 'right';
      st.rows.forEach(function (r, i) { ctx.fillText(r.client, st.left - 8, st.top + i * st.cell + st.cell / 2); });
      ctx.save();
      ctx.textAlign = 'left';
      st.owners.forEach(function (o, j) {
        ctx.save();
        ctx.translate(st.left + j * st.cell + st.cell / 2, st.top - 4);
        ctx.rotate(-Math.PI / 2);
        ctx.fillText(o, 0, 0);
        ctx.restore();
      });
      ctx.restore();
    }
    for (var i = 0; i < st.rows.length; i++) drawRowHead(i);
    drawGrid();
    document.getElementById('empty').hidden = st.rows.length > 0 && !!st.counts && st.counts.entries > 0;
  }

  function counts(c) {
    var el = document.getElementById('counts');
    if (!c) { el.textContent = 'RS-BFD: no data'; return; }
    el.textContent = c.clients + ' clients, ' + c.sessionsUp + ' reachability sessions up, ' + c.entries + ' next-hop entries: ' +
      c.reachable + ' reachable, ' + c.unknown + ' unknown, ' + c.unreachable + ' unreachable (' + c.damped + ' damped)';
  }

  function setMatrix(m) {
    st.owners = m.owners;
    st.rows = m.rows;
    st.version = m.version;
    st.counts = m.counts;
    st.ownerIdx = {};
    st.rowIdx = {};
    m.owners.forEach(function (o, j) { st.ownerIdx[o] = j; });
    m.rows.forEach(function (r, i) { st.rowIdx[r.client] = i; });
    st.cache = {};
    counts(m.counts);
    drawAll();
    refreshDetail();
  }

  function logChange(text) {
    var ol = document.getElementById('changes');
    var li = document.createElement('li');
    li.textContent = new Date().toISOString().slice(11, 19) + ' ' + text;
    ol.insertBefore(li, ol.firstChild);
    while (ol.childNodes.length > 50) ol.removeChild(ol.lastChild);
  }

  function applyCells(d) {
    st.version = d.version;
    st.counts = d.counts;
    st.cache = {};
    d.cells.forEach(function (x) {
      var r = st.rows[x[0]];
      if (!r) return;
      r.cells = r.cells.slice(0, x[1]) + x[2] + r.cells.slice(x[1] + 1);
      drawCell(x[0], x[1]);
      if (d.cells.length <= 20) logChange(r.client + ' → ' + st.owners[x[1]] + ': ' + NAME[x[2]]);
    });
    if (d.cells.length > 20) logChange(d.cells.length + ' cells changed');
    d.rows.forEach(function (x) {
      var r = st.rows[x[0]];
      if (!r) return;
      if (r.session !== x[1]) logChange(r.client + ': reachability session ' + x[1]);
      r.session = x[1];
      r.unreachable = x[2];
      drawRowHead(x[0]);
    });
    counts(d.counts);
    refreshDetail();
  }

  function sessions(list) {
    document.getElementById('sessions-count').textContent = '(' + list.length + ')';
    var h = '';
    list.forEach(function (s) {
      h += '<tr><td>' + esc(s.client) + '</td><td>' + s.asn + '</td><td>' + esc(s.address) + '</td><td class="st-' + esc(s.state) + '">' +
        esc(s.state) + '</td><td>' + esc(s.bgpState || '') + '</td><td>' + esc(s.since.replace('T', ' ').replace(/\.\d+Z$/, 'Z')) +
        '</td><td>' + s.received + '</td><td>' + s.sent + '</td></tr>';
    });
    document.querySelector('#sessions tbody').innerHTML = h;
  }

  // ------------------------------------------------------------ cell detail

  function cellAt(ev) {
    var r = canvas.getBoundingClientRect();
    var x = (ev.clientX - r.left) * (canvas.width / r.width) - st.left;
    var y = (ev.clientY - r.top) * (canvas.height / r.height) - st.top;
    var j = Math.floor(x / st.cell);
    var i = Math.floor(y / st.cell);
    if (x < 0 || y < 0 || i >= st.rows.length || j >= st.owners.length) return null;
    return { i: i, j: j };
  }

  function clientView(id, done) {
    var c = st.cache[id];
    if (c) { done(c); return; }
    fetch('/web/client?id=' + encodeURIComponent(id)).then(function (r) { return r.json(); }).then(function (v) {
      st.cache[id] = v;
      done(v);
    }).catch(function () {});
  }

  function showDetail(cell) {
    if (!cell || !st.rows[cell.i]) return;
    var row = st.rows[cell.i];
    var owner = st.owners[cell.j];
    var ch = row.cells.charAt(cell.j);
    document.getElementById('detail-title').textContent = row.client + ' → ' + owner;
    document.getElementById('detail-hint').textContent = NAME[ch] + (st.pinned ? ' (pinned: click elsewhere to release)' : '');
    clientView(row.client, function (v) {
      if (v.error) { document.getElementById('detail-body').textContent = v.error; return; }
      var mine = v.entries.filter(function (e) { return owner === '(other)' ? e.owner === null : e.owner === owner; });
      var h = '<table><tr><th>next hop</th><th>state</th><th>since</th><th>paths hidden</th><th>flaps</th></tr>';
      mine.forEach(function (e) {
        var cls = e.damped ? 'damped' : e.unreachable ? 'unreachable' : '';
        h += '<tr><td>' + esc(e.nextHop) + '</td><td class="' + cls + '">' + esc(e.state) + (e.damped ? ', damped until ' + esc(ago(e.reuseAt)) : '') +
          (e.requested ? '' : ' (unrequested)') + '</td><td>' + esc(ago(e.since)) + '</td><td>' + e.hiddenPaths + '</td><td>' + e.flaps + '</td></tr>';
      });
      if (mine.length === 0) h += '<tr><td colspan="5">no entry</td></tr>';
      h += '</table>';
      h += '<h3>' + esc(v.client) + ' (AS' + v.asn + ')</h3><table>' +
        '<tr><td class="k">reachability session</td><td>' + esc(v.session) + ', since ' + esc(ago(v.sessionSince)) + '</td></tr>' +
        '<tr><td class="k">reports</td><td>' + v.counters.reports + ' (' + v.counters.withdraws + ' withdrawals, ' + v.counters.spoofed + ' spoofed, ' + v.counters.unrequested + ' unrequested)</td></tr>' +
        '<tr><td class="k">flaps</td><td>' + v.counters.flaps + ' (' + v.counters.suppressions + ' damped)</td></tr></table>';
      var hidden = v.entries.filter(function (e) { return e.unreachable; });
      var total = 0;
      hidden.forEach(function (e) { total += e.hiddenPaths; });
      h += '<h3>Routes hidden from ' + esc(v.client) + ': ' + total + ' paths</h3><table id="hidden-routes"><tr><th>next hop</th><th>owner</th><th>paths</th><th>since</th></tr>';
      hidden.forEach(function (e) {
        h += '<tr><td>' + esc(e.nextHop) + '</td><td>' + esc(e.owner || '(other)') + '</td><td>' + e.hiddenPaths + '</td><td>' + esc(ago(e.since)) + '</td></tr>';
        // The prefixes (the first ones, as ixrs show nhib lists them), then how many more.
        var more = e.hiddenPaths - e.hiddenPrefixes.length;
        if (e.hiddenPaths > 0) h += '<tr class="prefixes"><td colspan="4">' + e.hiddenPrefixes.map(esc).join(' ') + (more > 0 ? ' <span class="k">and ' + more + ' more</span>' : '') + '</td></tr>';
      });
      if (hidden.length === 0) h += '<tr><td colspan="4">none</td></tr>';
      h += '</table><p class="k">ixrs show routes PREFIX --client ' + esc(v.client) + ' says why for each path; ixrs show nhib ' + esc(v.client) + ' lists the same.</p>';
      document.getElementById('detail-body').innerHTML = h;
    });
  }

  function refreshDetail() {
    var c = st.pinned || st.hover;
    if (c) showDetail(c);
  }

  var hoverTimer = null;
  canvas.addEventListener('mousemove', function (ev) {
    var c = cellAt(ev);
    if (!c) { tip.hidden = true; return; }
    var row = st.rows[c.i];
    tip.textContent = row.client + ' → ' + st.owners[c.j] + ': ' + NAME[row.cells.charAt(c.j)];
    tip.style.left = (ev.offsetX + 14) + 'px';
    tip.style.top = (ev.offsetY + 10) + 'px';
    tip.hidden = false;
    st.hover = c;
    if (st.pinned) return;
    clearTimeout(hoverTimer);
    hoverTimer = setTimeout(function () { showDetail(c); }, 120);
  });
  canvas.addEventListener('mouseleave', function () { tip.hidden = true; st.hover = null; });
  canvas.addEventListener('click', function (ev) {
    var c = cellAt(ev);
    st.pinned = c && !(st.pinned && st.pinned.i === c.i && st.pinned.j === c.j) ? c : null;
    if (c) showDetail(c);
  });
  window.addEventListener('resize', function () { drawAll(); });

  // ------------------------------------------------------------ live feed

  var conn = document.getElementById('conn');
  var es = new EventSource('/web/events');
  es.addEventListener('open', function () { conn.textContent = 'live'; conn.className = 'conn on'; });
  es.addEventListener('error', function () { conn.textContent = 'reconnecting'; conn.className = 'conn off'; });
  es.addEventListener('matrix', function (e) { setMatrix(JSON.parse(e.data)); });
  es.addEventListener('cells', function (e) { applyCells(JSON.parse(e.data)); });
  es.addEventListener('sessions', function (e) { sessions(JSON.parse(e.data)); });
  legend();

  // For tests and the curious: the state of one cell, by client and owner id.
  window.ixrs = {
    cell: function (client, owner) {
      var i = st.rowIdx[client];
      var j = st.ownerIdx[owner];
      return i === undefined || j === undefined ? null : st.rows[i].cells.charAt(j);
    },
    version: function () { return st.version; },
    /** The canvas pixel at the centre of a cell (CSS-independent canvas coordinates). */
    at: function (client, owner) {
      var i = st.rowIdx[client];
      var j = st.ownerIdx[owner];
      if (i === undefined || j === undefined) return null;
      var h = Math.floor((st.cell - 1) / 2);
      return { x: st.left + j * st.cell + h, y: st.top + i * st.cell + h };
    },
    show: function (client, owner) {
      var i = st.rowIdx[client];
      var j = st.ownerIdx[owner];
      if (i !== undefined && j !== undefined) { st.pinned = { i: i, j: j }; showDetail(st.pinned); }
    },
  };
})();
`;
