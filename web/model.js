// The page `/` shows for a model that does not take a 28x28 picture (a table's model): the
// model, its classes, and a form that sends one row of features to POST /api/predict as
// {"features": [...]}; the answer fills the bars (classification) or a table of predicted
// values in the targets' units (regression). No framework; Chart.js draws the bars.
'use strict';

let model = null;
let chart = null;
let predictions = 0;  // answers shown so far (a test may wait on it)

function element(tag, attributes, text) {
  const e = document.createElement(tag);
  Object.entries(attributes || {}).forEach(([k, v]) => e.setAttribute(k, v));
  if (text !== undefined) e.textContent = text;
  return e;
}

const names = () => (model.feature_names && model.feature_names.length === model.features
  ? model.feature_names : Array.from({length: model.features}, (_, i) => 'f' + i));

function fieldValues() {
  return Array.from(document.querySelectorAll('#fields input')).map((input) => input.value.trim());
}

// The textarea and the fields show the same row; either may be edited.
function fillFields(values) {
  document.querySelectorAll('#fields input').forEach((input, i) => { input.value = values[i] ?? ''; });
}

document.getElementById('row-text').addEventListener('input', (event) => {
  fillFields(event.target.value.split(/[,;\t]/).map((v) => v.trim()));
});

document.getElementById('row-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const status = document.getElementById('row-status');
  const values = fieldValues();
  const missing = values.findIndex((v) => v === '' || !Number.isFinite(Number(v)));
  if (missing >= 0) {
    status.textContent = `${names()[missing]} is not a number`;
    return;
  }
  status.textContent = '';
  fetch('/api/predict', {method: 'POST', headers: {'Content-Type': 'application/json'},
                         body: JSON.stringify({features: values.map(Number)})})
    .then((response) => response.json().then((body) => ({ok: response.ok, body})))
    .then(({ok, body}) => {
      if (!ok) throw new Error(body.error || 'request failed');
      show(body);
    })
    .catch((error) => { status.textContent = 'error: ' + error.message; });
});

function show(answer) {
  if (answer.prediction) {  // regression: one value per target
    const table = document.getElementById('values');
    table.textContent = '';
    answer.prediction.forEach((v, k) => {
      const row = table.appendChild(element('tr'));
      row.appendChild(element('th', {}, (model.target_names || [])[k] || 'y' + k));
      row.appendChild(element('td', {}, Number(v).toPrecision(6)));
    });
    document.getElementById('answer').textContent = Number(answer.prediction[0]).toPrecision(4);
  } else {
    const p = answer.probabilities;
    chart.data.datasets[0].data = p;
    chart.data.datasets[0].backgroundColor = p.map((_, k) => (k === answer.class ? 'rgba(178, 24, 43, 0.85)'
                                                                                 : 'rgba(33, 102, 172, 0.75)'));
    chart.update();
    document.getElementById('answer').textContent = answer.class_name;
    document.getElementById('confidence').textContent = (100 * p[answer.class]).toFixed(1) + '% sure';
  }
  predictions += 1;
  document.body.dataset.predictions = predictions;
  document.body.dataset.answer = answer.prediction ? answer.prediction[0] : answer.class_name;
}

fetch('/api/model').then((r) => r.json()).then((m) => {
  model = m;
  if (m.image) { location.replace('/'); return; }  // a picture model: the draw page
  document.getElementById('model-name').textContent = m.name;
  const regression = m.task === 'regression';
  document.getElementById('model-summary').textContent =
    `${m.description}: ${m.task}, ${m.features} features (scaling: ${m.scaling}), ` +
    (regression ? `${m.outputs} target${m.outputs === 1 ? '' : 's'}` : `${m.classes.length} classes`) +
    `, ${m.parameters.toLocaleString()} parameters (${m.dtype}).`;
  const classes = document.getElementById('model-classes');
  (m.classes || []).forEach((name) => classes.appendChild(element('li', {}, name)));
  const fields = document.getElementById('fields');
  names().forEach((name, i) => {
    const label = fields.appendChild(element('label', {}, name));
    label.appendChild(element('input', {type: 'text', inputmode: 'decimal', 'data-index': i, 'aria-label': name}));
  });
  document.getElementById('bars-box').hidden = regression;
  document.getElementById('values').hidden = !regression;
  if (!regression) {
    chart = new Chart(document.getElementById('probabilities'), {
      type: 'bar',
      data: {labels: m.classes, datasets: [{label: 'probability', data: m.classes.map(() => 0),
                                             backgroundColor: 'rgba(33, 102, 172, 0.75)'}]},
      options: {animation: {duration: 200}, maintainAspectRatio: false,
                scales: {y: {min: 0, max: 1, ticks: {callback: (v) => 100 * v + '%'}}, x: {grid: {display: false}}},
                plugins: {legend: {display: false}}},
    });
  }
  document.getElementById('model-line').textContent =
    `Model ${m.name}: ${m.description}, ${m.parameters.toLocaleString()} parameters (${m.dtype}).`;
});
