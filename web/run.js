// The run page: learning curves (Chart.js), the network's layers, the confusion matrix as
// a heat map, misclassified test digits, first-layer weights and sample training images.
// The data is GET /api/runs/NAME (or /api/model/report), or, in a report file written by
// `backprop report`, the JSON embedded in the page itself.
'use strict';

function element(tag, attributes, text) {
  const e = document.createElement(tag);
  Object.entries(attributes || {}).forEach(([k, v]) => e.setAttribute(k, v));
  if (text !== undefined) e.textContent = text;
  return e;
}

const percent = (x, digits = 2) => (100 * x).toFixed(digits) + '%';

// --- learning curves -----------------------------------------------------------------
const palette = {train: '#2166ac', test: '#b2182b', val: '#1b7837'};

function series(metrics, key) {
  return metrics.filter((m) => typeof m[key] === 'number').map((m) => ({x: m.epoch, y: m[key]}));
}

function lineChart(canvas, title, datasets, yOptions) {
  return new Chart(canvas, {
    type: 'line',
    data: {datasets: datasets.filter((d) => d.data.length)},
    options: {
      maintainAspectRatio: false,
      animation: false,
      parsing: false,
      scales: {x: {type: 'linear', title: {display: true, text: 'epoch'}, ticks: {precision: 0}},
               y: Object.assign({title: {display: true, text: title}}, yOptions || {})},
      plugins: {title: {display: true, text: title}, legend: {position: 'bottom'}},
      elements: {point: {radius: 3}, line: {borderWidth: 2, tension: 0}},
    },
  });
}

function dataset(label, data, colour, dashed) {
  return {label, data, borderColor: colour, backgroundColor: colour, borderDash: dashed ? [6, 4] : []};
}

function drawCurves(metrics) {
  if (!metrics.length) {
    document.getElementById('curves-card').hidden = true;
    return;
  }
  if (metrics.some((m) => typeof m.test_r2 === 'number')) {  // regression: R^2 instead of accuracy
    lineChart(document.getElementById('loss-chart'), 'loss (train: standardised targets; test: MSE)', [
      dataset('train loss', series(metrics, 'train_loss'), palette.train),
      dataset('test MSE', series(metrics, 'test_loss'), palette.test),
      dataset('validation MSE', series(metrics, 'val_loss'), palette.val, true),
    ]);
    lineChart(document.getElementById('accuracy-chart'), 'R²', [
      dataset('test R²', series(metrics, 'test_r2'), palette.test),
      dataset('validation R²', series(metrics, 'val_r2'), palette.val, true),
    ], {suggestedMax: 1});
    return;
  }
  lineChart(document.getElementById('loss-chart'), 'loss', [
    dataset('train loss', series(metrics, 'train_loss'), palette.train),
    dataset('test loss', series(metrics, 'test_loss'), palette.test),
    dataset('validation loss', series(metrics, 'val_loss'), palette.val, true),
  ]);
  lineChart(document.getElementById('accuracy-chart'), 'accuracy', [
    dataset('test accuracy', series(metrics, 'test_accuracy'), palette.test),
    dataset('validation accuracy', series(metrics, 'val_accuracy'), palette.val, true),
  ], {suggestedMax: 1, ticks: {callback: (v) => percent(v, 0)}});
}

// --- the layers as a diagram (SVG) ---------------------------------------------------
const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attributes, text) {
  const e = document.createElementNS(SVG, tag);
  Object.entries(attributes).forEach(([k, v]) => e.setAttribute(k, v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function drawDiagram(model) {
  const host = document.getElementById('diagram');
  if (!model) {
    document.getElementById('diagram-card').hidden = true;
    return;
  }
  const sizes = model.sizes;
  const count = sizes.length;
  const spacing = 210, boxWidth = 92, top = 38, tallest = 230;
  const width = spacing * (count - 1) + boxWidth + 40;
  const height = tallest + top + 74;
  const root = svg('svg', {viewBox: `0 0 ${width} ${height}`, width, height, class: 'diagram',
                           role: 'img', 'aria-label': 'Layers: ' + model.description});
  const heightOf = (n) => Math.max(36, tallest * Math.sqrt(n / Math.max(...sizes)));
  const boxes = sizes.map((n, l) => {
    const h = heightOf(n);
    return {x: 20 + l * spacing, y: top + (tallest - h) / 2, h, n};
  });
  // Fans first, so the boxes sit on top: every unit connects to every unit (dense).
  for (let l = 0; l + 1 < count; ++l) {
    const a = boxes[l], b = boxes[l + 1];
    root.appendChild(svg('polygon', {
      points: `${a.x + boxWidth},${a.y} ${b.x},${b.y} ${b.x},${b.y + b.h} ${a.x + boxWidth},${a.y + a.h}`,
      class: 'fan'}));
    const mid = (a.x + boxWidth + b.x) / 2;
    root.appendChild(svg('text', {x: mid, y: top + tallest + 30, class: 'fan-label'},
                         `W${l + 1}: ${sizes[l + 1]}×${sizes[l]}`));
    root.appendChild(svg('text', {x: mid, y: top + tallest + 48, class: 'fan-label muted'}, `+ b${l + 1}`));
  }
  boxes.forEach((box, l) => {
    const kind = l === 0 ? 'input' : l === count - 1 ? 'output' : 'hidden';
    root.appendChild(svg('rect', {x: box.x, y: box.y, width: boxWidth, height: box.h, rx: 8, class: 'layer ' + kind}));
    root.appendChild(svg('text', {x: box.x + boxWidth / 2, y: box.y + box.h / 2 + 6, class: 'layer-size'}, box.n));
    const name = l === 0 ? (box.n === 784 ? 'input 28×28' : 'input')
      : l === count - 1 ? model.head : model.activations[l - 1];
    root.appendChild(svg('text', {x: box.x + boxWidth / 2, y: top - 14, class: 'layer-name'}, name));
  });
  host.appendChild(root);
  host.appendChild(element('p', {class: 'caption'},
    `${model.description}: ${model.parameters.toLocaleString()} parameters (${model.dtype}). ` +
    'Each band is a dense layer z = W x + b; every unit feeds every unit of the next layer.'));
}

// --- confusion matrix as a heat map --------------------------------------------------
// K x K, any K: rows are the true class, columns the predicted one, named by the model's
// classes; past 12 classes the cells shrink (and lose their numbers past 30) to fit.
function drawConfusion(evaluation) {
  if (!evaluation || !evaluation.confusion) {
    document.getElementById('confusion-card').hidden = true;
    return;
  }
  const matrix = evaluation.confusion;
  const K = matrix.length;
  const names = evaluation.classes && evaluation.classes.length === K ? evaluation.classes : matrix.map((_, k) => String(k));
  const image = evaluation.image !== false;
  document.getElementById('confusion-caption').textContent =
    `(${evaluation.count.toLocaleString()} test ${image ? 'images' : 'examples'}, ${K} classes, ` +
    `accuracy ${percent(evaluation.accuracy)}; rows: true class, columns: predicted; colour: share of the row)`;
  const table = element('table', {class: 'confusion' + (K > 30 ? ' tiny' : K > 12 ? ' small' : '')});
  const head = table.appendChild(element('tr'));
  head.appendChild(element('th', {class: 'corner'}, 'true \\ predicted'));
  names.forEach((name) => head.appendChild(element('th', {title: name}, name)));
  head.appendChild(element('th', {}, 'recall'));
  matrix.forEach((row, t) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    const tr = table.appendChild(element('tr'));
    tr.appendChild(element('th', {title: names[t]}, names[t]));
    row.forEach((n, p) => {
      const share = n / total;
      const cell = tr.appendChild(element('td', {title: `true ${names[t]}, predicted ${names[p]}: ${n} (${percent(share, 1)})`},
                                          K > 30 ? '' : (n || '')));
      const strength = Math.pow(share, 0.45);  // so that small confusions still show
      const hue = t === p ? '33, 102, 172' : '178, 24, 43';
      cell.style.background = `rgba(${hue}, ${strength.toFixed(3)})`;
      if (strength > 0.55) cell.style.color = '#fff';
    });
    tr.appendChild(element('td', {class: 'recall'}, percent(row[t] / total, 1)));
  });
  document.getElementById('confusion').appendChild(table);
}

// --- regression: predicted against true ----------------------------------------------
function drawScatter(evaluation) {
  const card = document.getElementById('scatter-card');
  if (!evaluation || !evaluation.scatter) {
    card.hidden = true;
    return;
  }
  const points = evaluation.scatter;  // [{x: true, y: predicted}] of the first target
  const xs = points.map((p) => p.x).concat(points.map((p) => p.y));
  const lo = Math.min(...xs), hi = Math.max(...xs);
  document.getElementById('scatter-caption').textContent =
    `(${points.length.toLocaleString()} of ${evaluation.count.toLocaleString()} test examples` +
    `${evaluation.target ? ', target ' + evaluation.target : ''}; R² ${evaluation.r2.toFixed(4)}, ` +
    `RMSE ${evaluation.rmse.toPrecision(4)}, MAE ${evaluation.mae.toPrecision(4)}, in the target's units)`;
  new Chart(document.getElementById('scatter-chart'), {
    type: 'scatter',
    data: {datasets: [
      {label: 'test examples', data: points, backgroundColor: 'rgba(33, 102, 172, 0.55)', pointRadius: 3},
      {label: 'predicted = true', type: 'line', data: [{x: lo, y: lo}, {x: hi, y: hi}],
       borderColor: '#b2182b', borderDash: [6, 4], pointRadius: 0, borderWidth: 1.5},
    ]},
    options: {maintainAspectRatio: false, animation: false, parsing: false,
              scales: {x: {type: 'linear', title: {display: true, text: 'true'}},
                       y: {type: 'linear', title: {display: true, text: 'predicted'}}},
              plugins: {legend: {position: 'bottom'}}},
  });
}

// --- image grids ---------------------------------------------------------------------
function figure(src, caption, title, className) {
  const f = element('figure', {class: className || 'digit', title: title || caption});
  f.appendChild(element('img', {src, alt: title || caption, width: 56, height: 56}));
  if (caption !== null) f.appendChild(element('figcaption', {}, caption));
  return f;
}

function drawMistakes(data) {
  const grid = document.getElementById('mistakes');
  const mistakes = data.misclassified || [];
  if (!data.evaluation || !data.evaluation.confusion || data.evaluation.image === false) {  // pictures only of images
    document.getElementById('mistakes-card').hidden = true;
    return;
  }
  document.getElementById('mistakes-caption').textContent =
    `(${mistakes.length} of ${data.evaluation.errors.toLocaleString()}, in test-set order; true → predicted)`;
  mistakes.forEach((m) => grid.appendChild(figure(m.image, `${m.label} → ${m.predicted}`,
    `test image ${m.index}: true ${m.label}, predicted ${m.predicted} with p = ${m.confidence}`)));
}

function drawWeights(weights) {
  if (!weights) {
    document.getElementById('weights-card').hidden = true;
    return;
  }
  document.getElementById('weights-caption').textContent =
    `(${weights.shown} of ${weights.units} hidden units; each unit's 784 input weights as 28×28, ` +
    'red positive, blue negative, white zero, scaled per unit)';
  const grid = document.getElementById('weights');
  weights.images.forEach((src, j) => grid.appendChild(figure(src, null, `hidden unit ${j + 1}`, 'weight')));
}

function drawSamples(samples) {
  if (!samples.length) {
    document.getElementById('samples-card').hidden = true;
    return;
  }
  const grid = document.getElementById('samples');
  samples.forEach((s, i) => grid.appendChild(figure(s.image, `label ${s.label}`, `training image ${i}: ${s.label}`)));
}

// --- the page ------------------------------------------------------------------------
function summary(data) {
  const parts = [];
  const metrics = data.metrics;
  if (data.model) parts.push(data.model.description);
  if (metrics.length) parts.push(`${metrics.length} epoch${metrics.length === 1 ? '' : 's'}`);
  const last = metrics[metrics.length - 1] || {};
  if (typeof last.test_r2 === 'number') parts.push(`final test R² ${last.test_r2.toFixed(4)}`);
  else if (typeof last.test_accuracy === 'number') parts.push(`final test accuracy ${percent(last.test_accuracy)}`);
  else if (data.evaluation && typeof data.evaluation.r2 === 'number') parts.push(`test R² ${data.evaluation.r2.toFixed(4)}`);
  else if (data.evaluation) parts.push(`test accuracy ${percent(data.evaluation.accuracy)}`);
  const seconds = metrics.reduce((s, m) => s + (m.train_seconds || 0), 0);
  if (seconds) parts.push(`${seconds.toFixed(1)} s of training`);
  return parts.join(' · ');
}

function render(data) {
  document.title = 'backprop · ' + data.name;
  document.getElementById('title').textContent = data.name;
  document.getElementById('summary').textContent = summary(data);
  const notes = document.getElementById('notes');
  data.notes.forEach((n) => notes.appendChild(element('li', {}, n)));
  drawCurves(data.metrics);
  drawDiagram(data.model);
  drawConfusion(data.evaluation);
  drawScatter(data.evaluation);
  drawMistakes(data);
  drawWeights(data.weights);
  drawSamples(data.samples);
  document.body.dataset.rendered = 'yes';
}

function fail(message) {
  document.getElementById('title').textContent = 'Cannot show this run';
  document.getElementById('notes').appendChild(element('li', {class: 'error'}, message));
  document.querySelectorAll('section.card').forEach((s) => { s.hidden = true; });
  document.body.dataset.rendered = 'error';
}

const embedded = document.getElementById('run-data');
if (embedded) {
  document.getElementById('nav').hidden = true;  // a report file has no server to go back to
  render(JSON.parse(embedded.textContent));
} else {
  const run = new URLSearchParams(location.search).get('run');
  fetch(run ? '/api/runs/' + encodeURIComponent(run) : '/api/model/report')
    .then((r) => r.json().then((body) => ({ok: r.ok, body})))
    .then(({ok, body}) => (ok ? render(body) : fail(body.error || 'request failed')))
    .catch((error) => fail(error.message));
}
