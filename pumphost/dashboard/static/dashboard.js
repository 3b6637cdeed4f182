// Pump dashboard: one websocket of what is new, Plotly for the traces,
// POST /api/command for every control.
'use strict';

const $ = (id) => document.getElementById(id);
const COLS = ['t', 'pressure', 'sensed', 'baseline', 'delivered', 'device_delivered', 'course'];
const STATE_COLOURS = {
  RUNNING: '#43a047', KVO: '#7cb342', BOLUS: '#00897b', DWELL: '#90a4ae', PAUSED: '#fbc02d',
  ALARM: '#e53935', PROGRAMMED: '#8e24aa', IDLE: '#b0bec5', COMPLETE: '#1e88e5',
  SYRINGE_CHANGE: '#fb8c00', POST: '#78909c', FAULT: '#000000',
};
const EVENT_COLOURS = { alarm: '#d50000', inject: '#6a1b9a', clear: '#2e7d32', ack: '#1565c0',
                        resume: '#1565c0', command: '#455a64', break: '#e65100', program: '#8e24aa' };
const EVENT_LABELS = { alarm: 'alarm', inject: 'inject', clear: 'clear', ack: 'ack',
                       resume: 'resume', break: 'break' };

const state = { samples: null, last: null, describe: null, dirty: false, firstDataMs: null,
                firstPlotMs: null };
state.plotReady = () => drawPlot();
window.dashboard = state;   // for tests and the curious

function fmtClock(t) {
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = t - h * 3600 - m * 60;
  return `${h}:${String(m).padStart(2, '0')}:${s.toFixed(1).padStart(4, '0')}`;
}

function timeUnit(span) {
  if (span < 180) return { div: 1, name: 's' };
  if (span < 3 * 3600) return { div: 60, name: 'min' };
  if (span < 4 * 86400) return { div: 3600, name: 'h' };
  return { div: 86400, name: 'd' };
}

async function command(action, args = {}) {
  const msg = $('message');
  msg.textContent = `${action}...`;
  msg.className = 'message';
  try {
    const r = await fetch('/api/command', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(Object.assign({ action }, args)),
    });
    const body = await r.json();
    msg.textContent = body.message;
    msg.className = body.ok ? 'message' : 'message bad';
  } catch (e) {
    msg.textContent = `${action}: ${e}`;
    msg.className = 'message bad';
  }
}

// ------------------------------------------------------------ controls
function setupControls(d) {
  document.querySelectorAll('[data-action]').forEach((b) => {
    b.addEventListener('click', () => command(b.dataset.action,
      b.dataset.action === 'audio_pause' ? { seconds: 120 } : {}));
  });
  const has = (c) => d.controls.includes(c);
  $('fault-card').style.display = has('faults') ? '' : 'none';
  $('btn-load').style.display = has('load') ? '' : 'none';
  $('debug-card').style.display = has('speed') ? '' : 'none';
  document.querySelectorAll('.step-only').forEach((el) => { el.style.display = has('step') ? '' : 'none'; });
  if (d.speed) { $('speed').value = d.speed; state.speedShown = true; }
  if (has('speed')) {
    $('btn-speed').onclick = () => command('speed', { speed: $('speed').value });
  }
  if (!has('faults')) return;
  const sel = $('fault-name');
  for (const name of Object.keys(d.faults)) {
    const o = document.createElement('option');
    o.value = o.textContent = name;
    sel.appendChild(o);
  }
  sel.value = 'downstream_occlusion';
  const showParams = () => {
    const f = d.faults[sel.value];
    $('fault-doc').textContent = f.doc;
    const box = $('fault-params');
    box.innerHTML = '';
    for (const [k, v] of Object.entries(f.params)) {
      const row = document.createElement('label');
      row.className = 'param';
      row.textContent = k + ' ';
      const inp = document.createElement('input');
      inp.name = k; inp.value = v; inp.size = 8;
      row.appendChild(inp);
      box.appendChild(row);
    }
  };
  sel.addEventListener('change', showParams);
  showParams();
  const params = () => {
    const p = {};
    $('fault-params').querySelectorAll('input').forEach((i) => { p[i.name] = i.value; });
    return p;
  };
  $('btn-inject').onclick = () => command('inject', { fault: sel.value, params: params() });
  $('btn-clear').onclick = () => command('clear', { fault: sel.value });
  $('btn-run').onclick = () => command('run');
  $('btn-hold').onclick = () => command('hold');
  $('btn-tick').onclick = () => command('step', { span: '1' });
  $('btn-step').onclick = () => command('step', { span: $('step-span').value });
  $('btn-until').onclick = () => command('until', { condition: $('until-cond').value,
                                                    max: $('until-max').value });
}

// ------------------------------------------------------------ panels
function showStatus(s) {
  $('clock').textContent = 't = ' + fmtClock(s.t_s);
  $('state').textContent = s.state;
  $('state').style.color = STATE_COLOURS[s.state] || '#1d1f23';
  $('rate').textContent = `${s.rate_ml_h.toFixed(4)} mL/h`;
  $('delivered').textContent = `${s.delivered_ml.toFixed(4)} mL` +
    (s.device_delivered_ml !== undefined ? ` (device count ${s.device_delivered_ml.toFixed(4)})` : '');
  $('remaining').textContent = `${s.remaining_ml.toFixed(4)} mL`;
  $('pressure').textContent = `${s.pressure_mmhg.toFixed(1)} mmHg` +
    (s.sensed_mmhg !== undefined ? ` (sensed ${s.sensed_mmhg.toFixed(1)})` : '');
  $('motor').textContent = s.motor_driven ? 'driven' : 'stopped';
  $('motor').dataset.motor = s.motor_driven ? 'driven' : 'stopped';

  const b = $('banner');
  const order = { high: 3, medium: 2, low: 1 };
  const alarms = s.alarms.slice().sort((x, y) => order[y.priority] - order[x.priority]);
  if (!alarms.length) {
    b.className = 'banner banner-none';
    b.textContent = 'No alarm';
    b.dataset.priority = 'none';
    return;
  }
  const top = alarms[0];
  b.className = `banner banner-${top.priority}` + (alarms.every((a) => a.acknowledged) ? ' acked' : '');
  b.dataset.priority = top.priority;
  b.textContent = alarms.map((a) => `${a.priority.toUpperCase()}: ${a.name}` +
    (a.acknowledged ? ' (acknowledged)' : '') + (a.condition ? '' : ' (condition gone)')).join('   |   ') +
    (s.audio_paused_s > 0 ? `   - audio paused ${Math.round(s.audio_paused_s)} s` : '');
}

function showProgram(p) {
  const t = $('program');
  if (!p) { t.innerHTML = '<tr><td>no program</td></tr>'; return; }
  let html = '<tr><th>#</th><th>kind</th><th>mL/h</th><th>mL</th></tr>';
  p.steps.forEach((s, i) => {
    html += `<tr class="${i === p.current ? 'current' : ''}"><td>${i + 1}</td><td>${s.kind}</td>` +
      `<td>${s.rate_ml_h.toFixed(4)}</td><td>${s.volume_ml.toFixed(3)}</td></tr>`;
  });
  t.innerHTML = html;
}

function showInternals(x) {
  const t = $('internals');
  if (!x) { t.innerHTML = '<tr><td>not available over the link</td></tr>'; return; }
  let html = '';
  for (const [group, vals] of Object.entries(x)) {
    html += `<tr><th colspan="2">${group}</th></tr>`;
    for (const [k, v] of Object.entries(vals)) {
      const shown = typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : String(v);
      html += `<tr><td>${k}</td><td id="int-${group}-${k}">${shown}</td></tr>`;
    }
  }
  t.innerHTML = html;
}

function showLog(id, items, fmt) {
  const ol = $(id);
  ol.innerHTML = '';
  for (const it of items.slice().reverse()) {   // newest first
    const li = document.createElement('li');
    const [text, cls] = fmt(it);
    li.textContent = text;
    if (cls) li.className = cls;
    ol.appendChild(li);
  }
}

// ------------------------------------------------------------ plot
function drawPlot() {
  const d = state.last, S = state.samples;
  if (!d || !S || !S.t.length || !window.Plotly) return;
  const tEnd = Math.max(S.t[S.t.length - 1], d.status.t_s);
  const u = timeUnit(tEnd - S.t[0]);
  const x = S.t.map((t) => t / u.div);
  const line = (y, name, axis, style) => Object.assign(
    { x, y, name, type: 'scatter', mode: 'lines', xaxis: 'x', yaxis: axis }, style || {});
  const traces = [
    line(S.pressure, 'line pressure', 'y', { line: { color: '#c62828', width: 1 } }),
    line(S.sensed, 'sensed', 'y', { line: { color: '#ef9a9a', width: 1 } }),
    line(S.baseline, 'occlusion baseline', 'y', { line: { color: '#6d4c41', width: 1, dash: 'dot' } }),
    line(S.delivered, 'delivered (patient)', 'y2', { line: { color: '#1565c0', width: 2 } }),
    line(S.device_delivered, 'device count', 'y2', { line: { color: '#64b5f6', width: 1 } }),
    line(S.course, 'programmed course', 'y2', { line: { color: '#9e9e9e', width: 1, dash: 'dash' } }),
  ];
  const shapes = [], annotations = [];
  for (const [t0, t1, name] of d.bands) {
    shapes.push({ type: 'rect', xref: 'x', yref: 'paper', x0: t0 / u.div, x1: Math.max(t1, t0) / u.div,
                  y0: 0, y1: 1, fillcolor: STATE_COLOURS[name] || '#999', opacity: 0.10,
                  line: { width: 0 }, layer: 'below' });
  }
  // one mark per instant: "alarm, break" rather than two labels on one line
  const marks = [];
  for (const e of d.events) {
    if (!(e.kind in EVENT_LABELS)) continue;
    const last = marks[marks.length - 1];
    if (last && Math.abs(last.t_s - e.t_s) < 1e-6) {
      last.labels.push(EVENT_LABELS[e.kind]);
      last.texts.push(e.text);
    } else {
      marks.push({ t_s: e.t_s, kind: e.kind, labels: [EVENT_LABELS[e.kind]], texts: [e.text] });
    }
  }
  let lastX = -Infinity, shift = 0;
  const near = (tEnd - S.t[0]) / u.div * 0.03;   // labels closer than this are stacked
  for (const m of marks) {
    const xe = m.t_s / u.div;
    shift = xe - lastX < near ? shift + 12 : 0;
    lastX = xe;
    shapes.push({ type: 'line', xref: 'x', yref: 'paper', x0: xe, x1: xe, y0: 0, y1: 1,
                  line: { color: EVENT_COLOURS[m.kind], width: 1, dash: 'dot' } });
    annotations.push({ x: xe, y: 1, xref: 'x', yref: 'paper', yanchor: 'bottom', showarrow: false,
                       text: m.labels.join(', '), hovertext: `${fmtClock(m.t_s)} ${m.texts.join('; ')}`,
                       font: { size: 10, color: EVENT_COLOURS[m.kind] }, textangle: -30,
                       yshift: shift });
  }
  const layout = {
    uirevision: u.name,
    margin: { l: 55, r: 10, t: 60, b: 40 },
    xaxis: { title: { text: `time since boot (${u.name})` }, anchor: 'y2' },
    yaxis: { title: { text: 'mmHg' }, domain: [0.52, 1] },
    yaxis2: { title: { text: 'mL' }, domain: [0, 0.45], rangemode: 'tozero' },
    legend: { orientation: 'h', y: -0.15, font: { size: 11 } },
    shapes, annotations,
  };
  Plotly.react('plot', traces, layout, { displaylogo: false, responsive: true });
  if (state.firstPlotMs === null) state.firstPlotMs = performance.now();
}

function schedulePlot() {
  if (state.dirty) return;
  state.dirty = true;
  setTimeout(() => { state.dirty = false; drawPlot(); }, 400);
}

// ------------------------------------------------------------ live data
function onData(d) {
  if (d.full || !state.samples) {
    state.samples = d.samples;
  } else {
    for (const c of COLS) state.samples[c].push(...d.samples[c]);
  }
  state.last = d;
  if (state.firstDataMs === null && state.samples.t.length) {
    state.firstDataMs = performance.now();
  }
  showStatus(d.status);
  showProgram(d.program);
  showInternals(d.internals);
  showLog('events', d.events, (e) => [`${fmtClock(e.t_s)} ${e.text}`, `ev-${e.kind}`]);
  showLog('journal', d.journal, (j) => [`#${j.seq} ${fmtClock(j.t_s)} ${j.text}`, '']);
  if (d.sim) {
    if (!state.speedShown) { $('speed').value = d.sim.speed; state.speedShown = true; }
    const sp = d.sim.achieved_speed ? ` (${Math.round(d.sim.achieved_speed)}x achieved)` : '';
    $('sim-mode').textContent = d.sim.mode === 'run' ? `running at ${d.sim.speed}x${sp}` :
      d.sim.mode === 'until' ? `running until ${d.sim.until}` : 'held';
  } else if (d.link) {
    $('sim-mode').textContent = d.link;
  }
  schedulePlot();
}

function connect() {
  const ws = new WebSocket(`ws://${location.host}/api/live`);
  ws.onopen = () => { $('link').textContent = 'live'; $('link').className = 'link-up'; ws.send('reset'); };
  ws.onmessage = (m) => onData(JSON.parse(m.data));
  ws.onclose = () => {
    $('link').textContent = 'disconnected: retrying';
    $('link').className = 'link-down';
    setTimeout(connect, 1000);
  };
}

async function main() {
  const d = await (await fetch('/api/describe')).json();
  state.describe = d;
  $('target-name').textContent = d.name;
  $('target-detail').textContent = `${d.kind}: ${d.detail}`;
  document.title = `Pump dashboard: ${d.name}`;
  setupControls(d);
  connect();
}

main();
