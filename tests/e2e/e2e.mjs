// End-to-end test of `backprop serve` and `backprop report` in a real browser: Debian's
// chromium driven by playwright-core (no browser download).
//
//   1. trains a small model (the same fixed seed every time) with metrics;
//   2. starts `backprop serve --port 0` on loopback and reads the port it printed;
//   3. draws a vertical stroke on the pad and checks that the probabilities update, sum to
//      1 and put class 1 on top, and that the 28x28 input and hidden layer are drawn;
//   4. opens the run page and checks that the learning-curve charts rendered (canvas
//      present and not blank) with the confusion matrix, mistakes, weights and samples;
//   5. writes the report file and checks the same from file://, with no network request;
//   6. checks that no page asked anything of another origin (no CDN).
// Screenshots go to WORK/screenshots/. Exit 0 = passed, 1 = failed (run.sh exits 77 when
// chromium or playwright-core is missing).
//
// usage: node e2e.mjs WORK_DIR BACKPROP_BINARY MNIST_DIR
import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import {createRequire} from 'node:module';
import os from 'node:os';
import path from 'node:path';

const [work, backprop, dataDir] = process.argv.slice(2);
if (!work || !backprop || !dataDir) {
  console.error('usage: node e2e.mjs WORK_DIR BACKPROP_BINARY MNIST_DIR');
  process.exit(2);
}
const require = createRequire(path.join(process.env.E2E_NODE_DIR || path.join(work, 'node'), 'package.json'));
const {chromium} = require('playwright-core');

const runs = path.join(work, 'runs');
const shots = path.join(work, 'screenshots');
fs.rmSync(runs, {recursive: true, force: true});
fs.mkdirSync(runs, {recursive: true});
fs.mkdirSync(shots, {recursive: true});

let failures = 0;
function check(condition, what, detail) {
  console.log(`${condition ? 'ok  ' : 'FAIL'} ${what}${detail === undefined ? '' : ': ' + detail}`);
  if (!condition) failures += 1;
}

function run(args) {
  const result = spawnSync(backprop, args, {encoding: 'utf8', timeout: 120000});
  if (result.status !== 0) {
    console.error(`${backprop} ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
    process.exit(1);
  }
  return result.stdout;
}

// 1. The model: 64 sigmoid units, two epochs over 10,000 images (a second or two).
run(['train', '--hidden', '64', '--epochs', '2', '--train-limit', '10000', '--seed', '1', '--data', dataDir,
     '--no-fetch', '--quiet', '--metrics', path.join(runs, 'e2e.jsonl'), '--out', path.join(runs, 'e2e.model')]);

// 2. The server, on a port the kernel picks.
const server = spawn(backprop, ['serve', '--model', path.join(runs, 'e2e.model'), '--runs', runs,
                                '--data', dataDir, '--port', '0', '--no-log'], {stdio: ['ignore', 'pipe', 'inherit']});
let serverOutput = '';
const base = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('serve printed no address in 20 s: ' + serverOutput)), 20000);
  server.stdout.on('data', (chunk) => {
    serverOutput += chunk;
    const match = serverOutput.match(/serving (http:\/\/127\.0\.0\.1:\d+)\//);
    if (match) {
      clearTimeout(timer);
      resolve(match[1]);
    }
  });
  server.on('exit', (code) => reject(new Error(`serve exited (${code}): ${serverOutput}`)));
});
console.log('server at ' + base);

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'backprop-e2e-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.BACKPROP_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: {width: 1280, height: 900},
});
const foreign = [];
const pageErrors = [];
context.on('request', (request) => {
  const url = request.url();
  if (!url.startsWith(base) && !url.startsWith('data:') && !url.startsWith('file:')) foreign.push(url);
});

// Whether a canvas has any non-transparent pixel that is not the page's white.
const canvasIsDrawn = (selector) => ({selector, script: `(() => {
  const canvas = document.querySelector(${JSON.stringify(selector)});
  if (!canvas || !canvas.width || !canvas.height) return false;
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 0; i < pixels.length; i += 4)
    if (pixels[i + 3] > 0 && (pixels[i] < 250 || pixels[i + 1] < 250 || pixels[i + 2] < 250)) return true;
  return false;
})()`});
const drawn = (page, selector) => page.evaluate(canvasIsDrawn(selector).script);

try {
  // 3. Draw a vertical stroke.
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(base + '/');
  await page.waitForFunction(() => window.Chart && Chart.getChart('probabilities'));
  await page.waitForFunction(() => document.getElementById('hidden').dataset.size > 0);
  const before = await page.evaluate(() => Chart.getChart('probabilities').data.datasets[0].data.slice());
  check(before.every((p) => p === 0), 'bars start at zero');
  const box = await page.locator('#pad').boundingBox();
  const x = box.x + box.width / 2;
  await page.mouse.move(x, box.y + 0.15 * box.height);
  await page.mouse.down();
  for (let i = 1; i <= 20; ++i) await page.mouse.move(x, box.y + (0.15 + 0.7 * i / 20) * box.height);
  await page.mouse.up();
  await page.waitForFunction(() => document.body.dataset.predictions === '1', null, {timeout: 10000});
  await page.waitForTimeout(300);  // the bars' 200 ms animation
  const after = await page.evaluate(() => Chart.getChart('probabilities').data.datasets[0].data.slice());
  const sum = after.reduce((a, b) => a + b, 0);
  const top = after.indexOf(Math.max(...after));
  check(after.length === 10 && Math.abs(sum - 1) < 1e-3, 'probabilities updated and sum to 1', after.map((p) => p.toFixed(3)).join(' '));
  check(top === 1, 'a vertical stroke is a 1', `top class ${top} with p = ${after[top].toFixed(3)}`);
  check(await page.locator('#answer').textContent() === '1', 'the answer reads 1');
  check(await drawn(page, '#probabilities'), 'bar chart canvas is not blank');
  check(await drawn(page, '#seen'), 'the 28x28 input is drawn');
  check(await drawn(page, '#hidden'), 'the hidden layer is drawn');
  await page.screenshot({path: path.join(shots, 'draw.png'), fullPage: true});

  await page.click('#clear');
  const cleared = await page.evaluate(() => Chart.getChart('probabilities').data.datasets[0].data.slice());
  check(cleared.every((p) => p === 0) && (await page.locator('#answer').textContent()) === '?', 'Clear resets the answer');
  check(await page.locator('#runs a[href="run.html?run=e2e"]').count() === 1, 'the draw page lists the run');

  // 4. The run page.
  async function checkRunPage(runPage, where) {
    await runPage.waitForFunction(() => document.body.dataset.rendered, null, {timeout: 20000});
    check(await runPage.evaluate(() => document.body.dataset.rendered) === 'yes', `${where}: rendered`);
    for (const id of ['#loss-chart', '#accuracy-chart'])
      check(await drawn(runPage, id), `${where}: ${id} canvas is not blank`);
    check(await runPage.locator('table.confusion tr').count() === 11, `${where}: confusion matrix has 10 rows`);
    const mistakes = await runPage.locator('#mistakes img').count();
    check(mistakes > 0 && mistakes <= 100, `${where}: misclassified digits shown`, mistakes);
    check(await runPage.locator('#weights img').count() === 64, `${where}: 64 first-layer weight images`);
    check(await runPage.locator('#samples img').count() === 40, `${where}: 40 sample images`);
    check(await runPage.locator('#diagram svg rect').count() === 3, `${where}: layer diagram with 3 layers`);
    const broken = await runPage.evaluate(() => [...document.images].filter((i) => !i.complete || !i.naturalWidth).length);
    check(broken === 0, `${where}: every image decoded`, broken);
  }
  const runPage = await context.newPage();
  runPage.on('pageerror', (error) => pageErrors.push(error.message));
  await runPage.goto(base + '/run.html?run=e2e');
  await checkRunPage(runPage, 'run page');
  await runPage.screenshot({path: path.join(shots, 'run.png'), fullPage: true});

  // 5. The report file, opened from disk.
  const report = path.join(work, 'report.html');
  run(['report', '--metrics', path.join(runs, 'e2e.jsonl'), '--model', path.join(runs, 'e2e.model'),
       '--data', dataDir, '--out', report]);
  const requestsBefore = foreign.length;
  const reportPage = await context.newPage();
  const reportRequests = [];
  reportPage.on('request', (request) => {
    if (!request.url().startsWith('data:')) reportRequests.push(request.url());
  });
  reportPage.on('pageerror', (error) => pageErrors.push(error.message));
  await reportPage.goto('file://' + report);
  await checkRunPage(reportPage, 'report');
  check(reportRequests.length === 1, 'report: loads nothing but itself', reportRequests.join(' '));
  check(await reportPage.locator('#nav').isHidden(), 'report: no links back to a server');
  check(foreign.length === requestsBefore, 'report: no request to another origin');
  await reportPage.screenshot({path: path.join(shots, 'report.png'), fullPage: true});

  // 6. Offline: nothing but our own server.
  check(foreign.length === 0, 'no request left this server (no CDN)', foreign.join(' '));
  check(pageErrors.length === 0, 'no JavaScript errors', pageErrors.join(' | '));
} catch (error) {
  console.error(error);
  failures += 1;
} finally {
  await context.close();
  fs.rmSync(profile, {recursive: true, force: true});
  server.kill('SIGTERM');
  const code = await new Promise((resolve) => server.on('exit', resolve));
  check(code === 0, 'serve stops cleanly on SIGTERM', code);
}
console.log(failures ? `${failures} check(s) failed; screenshots in ${shots}` : `passed; screenshots in ${shots}`);
process.exit(failures ? 1 : 0);
