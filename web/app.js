// The draw-a-digit page: a pad for mouse, pen or touch; after every stroke the drawing goes
// to POST /api/predict as a PNG, and the answer fills the bar chart, the 28x28 picture the
// network saw, and the hidden layer's activations. No framework; Chart.js draws the bars.
'use strict';

const pad = document.getElementById('pad');
const ink = pad.getContext('2d');
const seen = document.getElementById('seen');
const hiddenCanvas = document.getElementById('hidden');
let predictions = 0;     // answers shown so far (the end-to-end test waits on it)
let pending = null;      // the request in flight, so answers never arrive out of order
let boundedActivation = true;  // sigmoid/tanh: [0,1] or [-1,1]; relu & co: scale by the max

function clearPad() {
  ink.fillStyle = '#000';
  ink.fillRect(0, 0, pad.width, pad.height);
}

// --- drawing -------------------------------------------------------------------------
let drawing = false;
let last = null;

function point(event) {
  const box = pad.getBoundingClientRect();
  return {x: (event.clientX - box.left) * pad.width / box.width,
          y: (event.clientY - box.top) * pad.height / box.height};
}

pad.addEventListener('pointerdown', (event) => {
  drawing = true;
  last = point(event);
  pad.setPointerCapture(event.pointerId);
  ink.fillStyle = '#fff';
  ink.beginPath();
  ink.arc(last.x, last.y, ink.lineWidth / 2, 0, 2 * Math.PI);
  ink.fill();
});
pad.addEventListener('pointermove', (event) => {
  if (!drawing) return;
  const p = point(event);
  ink.beginPath();
  ink.moveTo(last.x, last.y);
  ink.lineTo(p.x, p.y);
  ink.stroke();
  last = p;
});
function endStroke() {
  if (!drawing) return;
  drawing = false;
  predict();
}
pad.addEventListener('pointerup', endStroke);
pad.addEventListener('pointercancel', endStroke);

// --- asking the server ---------------------------------------------------------------
function predict() {
  pad.toBlob((png) => {
    const request = fetch('/api/predict?detail=1', {method: 'POST', headers: {'Content-Type': 'image/png'}, body: png})
      .then((response) => response.json().then((body) => ({ok: response.ok, body})));
    pending = request;
    request.then(({ok, body}) => {
      if (request !== pending) return;  // a newer stroke's answer is coming
      if (!ok) throw new Error(body.error || 'request failed');
      show(body);
    }).catch((error) => {
      document.getElementById('confidence').textContent = 'error: ' + error.message;
    });
  }, 'image/png');
}

// --- showing the answer --------------------------------------------------------------
const barColour = 'rgba(33, 102, 172, 0.75)';
const topColour = 'rgba(178, 24, 43, 0.85)';
const chart = new Chart(document.getElementById('probabilities'), {
  type: 'bar',
  data: {labels: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
         datasets: [{label: 'probability', data: new Array(10).fill(0), backgroundColor: barColour}]},
  options: {
    animation: {duration: 200},
    maintainAspectRatio: false,
    scales: {y: {min: 0, max: 1, ticks: {stepSize: 0.25, callback: (v) => 100 * v + '%'}}, x: {grid: {display: false}}},
    plugins: {legend: {display: false},
              tooltip: {callbacks: {label: (c) => (100 * c.parsed.y).toFixed(1) + '%'}}},
  },
});

function show(answer) {
  const p = answer.probabilities;
  chart.data.datasets[0].data = p;
  chart.data.datasets[0].backgroundColor = p.map((_, k) => (k === answer.class ? topColour : barColour));
  chart.update();
  document.getElementById('answer').textContent = answer.class;
  document.getElementById('confidence').textContent = (100 * p[answer.class]).toFixed(1) + '% sure';
  drawInput(answer.input);
  drawHidden(answer.hidden);
  predictions += 1;
  document.body.dataset.predictions = predictions;
  document.body.dataset.answer = answer.class;
}

function drawInput(pixels) {
  const context = seen.getContext('2d');
  const image = context.createImageData(28, 28);
  pixels.forEach((v, i) => {
    const g = Math.round(255 * v);
    image.data.set([g, g, g, 255], 4 * i);
  });
  context.putImageData(image, 0, 0);
}

// Black -> purple -> orange -> yellow (like matplotlib's "inferno"), t in [0, 1].
function heat(t) {
  const stops = [[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]];
  const x = Math.max(0, Math.min(1, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  return stops[i].map((a, c) => Math.round(a + f * (stops[i + 1][c] - a)));
}

function hiddenLayout(n) {
  const columns = Math.min(32, Math.ceil(Math.sqrt(n * 2)));
  const cell = Math.max(8, Math.min(22, Math.floor(640 / columns)));
  return {columns, rows: Math.ceil(n / columns), cell};
}

function drawHidden(values) {
  const n = values.length;
  const {columns, rows, cell} = hiddenLayout(n);
  hiddenCanvas.width = columns * cell;
  hiddenCanvas.height = rows * cell;
  const context = hiddenCanvas.getContext('2d');
  context.fillStyle = '#f4f4f6';
  context.fillRect(0, 0, hiddenCanvas.width, hiddenCanvas.height);
  const scale = boundedActivation ? 1 : Math.max(1e-6, ...values.map(Math.abs));
  values.forEach((v, j) => {
    const [r, g, b] = heat(Math.abs(v) / scale);
    context.fillStyle = `rgb(${r},${g},${b})`;
    context.fillRect((j % columns) * cell + 1, Math.floor(j / columns) * cell + 1, cell - 2, cell - 2);
  });
}

function reset() {
  clearPad();
  chart.data.datasets[0].data = new Array(10).fill(0);
  chart.update();
  document.getElementById('answer').textContent = '?';
  document.getElementById('confidence').textContent = 'draw something';
  seen.getContext('2d').clearRect(0, 0, 28, 28);
  drawInput(new Array(784).fill(0));
  const size = Number(hiddenCanvas.dataset.size || 0);
  if (size) drawHidden(new Array(size).fill(0));
  pending = null;
}
document.getElementById('clear').addEventListener('click', reset);

// --- the model and the runs ----------------------------------------------------------
function element(tag, attributes, text) {
  const e = document.createElement(tag);
  Object.entries(attributes || {}).forEach(([k, v]) => e.setAttribute(k, v));
  if (text !== undefined) e.textContent = text;
  return e;
}

fetch('/api/model').then((r) => r.json()).then((model) => {
  // The pad draws 28x28 digits: a model of anything else gets the page of a row of features.
  if (model.image === false) { location.replace('/model.html'); return; }
  const first = model.activations[0];
  boundedActivation = first === 'sigmoid' || first === 'tanh' || first === undefined;
  const hiddenSize = model.sizes.length > 2 ? model.sizes[1] : 0;
  hiddenCanvas.dataset.size = hiddenSize;
  document.getElementById('hidden-size').textContent =
    hiddenSize ? `(${hiddenSize} ${first} units)` : '(this model has none)';
  if (hiddenSize) drawHidden(new Array(hiddenSize).fill(0));
  document.getElementById('model-line').textContent =
    `Model ${model.name}: ${model.description}, ${model.parameters.toLocaleString()} parameters (${model.dtype}).`;
});

fetch('/api/runs').then((r) => r.json()).then(({runs}) => {
  const list = document.getElementById('runs');
  list.textContent = '';
  list.appendChild(element('li', {}, '')).appendChild(
    element('a', {href: 'run.html'}, 'The served model')).after(' — its weights, confusion matrix and mistakes');
  if (!runs.length) {
    list.appendChild(element('li', {class: 'muted'},
      'No training runs: start with --runs DIR, a folder of RUN.jsonl (train --metrics) and RUN.model files.'));
  }
  runs.forEach((run) => {
    const item = list.appendChild(element('li'));
    item.appendChild(element('a', {href: 'run.html?run=' + encodeURIComponent(run.name)}, run.name));
    const last = run.last || {};
    const parts = [`${run.epochs} epoch${run.epochs === 1 ? '' : 's'}`];
    if (last.test_accuracy !== undefined) parts.push(`test accuracy ${(100 * last.test_accuracy).toFixed(2)}%`);
    if (!run.has_model) parts.push('no model file');
    if (run.error) parts.push(run.error);
    item.append(' — ' + parts.join(', '));
  });
});

ink.lineWidth = 20;
ink.lineCap = 'round';
ink.lineJoin = 'round';
ink.strokeStyle = '#fff';
reset();
