// The packed package in the bundlers adopters use: `npm pack`, installed into an empty project, built
// with Vite, webpack and esbuild the way the README says (nothing else configured, nothing copied by
// hand beyond what it says for esbuild), each build served under the page's CSP and opened in
// Chromium: attention(), loadModel() and the <qkv-attention> element must work and give the numbers
// Node gives. A second app that only calls attention() must come out without any weight file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, readdirSync, rmSync, cpSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../../scripts/serve.mjs';
import { ARTIFACTS } from '../browser/chromium.js';
import { loadAttention } from '../../lib/index.js';
import { loadModel } from '../../lib/model.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const SENTENCE = 'The cat sat on the mat because it was';

// The app: what the README's examples do, one after another; `assets` is the esbuild build's option.
const app = (assets) => `
import { loadAttention, relaxedSimdSupported } from 'qkv-attention';
import { loadModel } from 'qkv-attention/model';
import 'qkv-attention/element';
const assets = ${JSON.stringify(assets ?? undefined)};
const qkv = await loadAttention({ assets });
const { output, weights } = qkv.attention({ q: [1, 0, 0, 1], k: [1, 0, 0, 1, 1, 1], v: [1, 2, 3, 4, 5, 6], dim: 2, returnWeights: true });
const model = await loadModel(undefined, { attention: qkv, assets });
const run = model.run(${JSON.stringify(SENTENCE)});
const element = document.querySelector('qkv-attention');
const defined = customElements.get('qkv-attention'); // a bundler that drops the import leaves it undefined
if (defined) await element.ready;
window.result = {
  backend: qkv.backend, relaxed: relaxedSimdSupported(), output: [...output], weights: [...weights],
  next: run.next.map((p) => [p.token, p.probability]), headWeights: [...run.layers[1].heads[2].weights],
  defined: defined !== undefined && defined === element.constructor, tokens: element.run?.n,
  canvases: element.shadowRoot?.querySelectorAll('canvas').length ?? 0,
  styled: element.shadowRoot?.adoptedStyleSheets.length ?? 0,
};
`;
const ONLY = `
import { loadAttention } from 'qkv-attention';
const qkv = await loadAttention(ASSETS);
window.result = { output: [...qkv.attention({ q: [1, 0, 0, 1], k: [1, 0, 0, 1, 1, 1], v: [1, 2, 3, 4, 5, 6], dim: 2 }).output] };
`;
const page = (script, src = null) => `<!doctype html><html lang="en"><meta charset="utf-8"><title>app</title><link rel="icon" href="/favicon.svg">
<qkv-attention sentence="The cat sat on the mat." view="heatmap"${src ? ` src="${src}"` : ''}></qkv-attention>
<script type="module" src="${script}"></script>`;

let dir, project, browser, profile, expected;
const builds = {}; // name → output folder

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qkv-bundlers-'));
  const packOut = run('npm', ['pack', '--json', '--pack-destination', dir], root);
  const packed = JSON.parse(packOut.slice(packOut.search(/^\[\s*$/m)))[0];
  project = join(dir, 'app');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  run('npm', ['install', '--no-audit', '--no-fund', '--offline', join(dir, packed.filename)], project);
  writeFileSync(join(project, 'main.js'), app(null));
  writeFileSync(join(project, 'only.js'), ONLY.replace('ASSETS', ''));
  writeFileSync(join(project, 'index.html'), page('./main.js'));
  writeFileSync(join(project, 'only.html'), page('./only.js'));

  // What Node computes from the repository's own build: the numbers every build must reproduce.
  const qkv = await loadAttention();
  const model = await loadModel(undefined, { attention: qkv });
  const r = model.run(SENTENCE);
  expected = { next: r.next.map((p) => [p.token, p.probability]), headWeights: [...r.layers[1].heads[2].weights] };
  model.free();

  mkdirSync(ARTIFACTS, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), 'qkv-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  rmSync(profile, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

const filesUnder = (folder) => readdirSync(folder, { recursive: true }).filter((f) => statSync(join(folder, f)).isFile());

// Serves `folder` at / under the CSP and opens `path`; returns window.result and what went wrong.
async function open(folder, path, screenshot = null) {
  const { server, url } = await startServer({ extraMounts: [['/favicon.svg', join(root, 'web', 'favicon.svg')], ['/', folder]] });
  const tab = await browser.newPage();
  const problems = [], requests = [];
  tab.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
  tab.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  tab.on('request', (r) => requests.push(new URL(r.url()).pathname));
  try {
    await tab.goto(url + path);
    await tab.waitForFunction(() => window.result, null, { timeout: 30_000 });
    if (screenshot) await tab.screenshot({ path: join(ARTIFACTS, screenshot), fullPage: true });
    return { result: await tab.evaluate(() => window.result), problems, requests };
  } catch (e) {
    throw new Error(`${folder}/${path}: ${e.message}\n${problems.join('\n')}`);
  } finally {
    await tab.close();
    await new Promise((r) => server.close(r));
  }
}

const e = Math.exp(1 / Math.sqrt(2));
function checkApp(name, { result, problems, requests }) {
  assert.deepEqual(problems, [], `${name}: no console errors, warnings or page errors`);
  // Debian's Chromium runs relaxed SIMD, so 'auto' picks the FMA build there; the plain SIMD build elsewhere.
  assert.equal(result.backend, result.relaxed ? 'wasm-relaxed-simd' : 'wasm-simd128', `${name}: the fastest build the engine runs`);
  const wasm = requests.filter((p) => p.endsWith('.wasm'));
  assert.equal(wasm.length, 1, `${name}: one .wasm fetched, the chosen build's (${wasm})`);
  if (/qkv-/.test(wasm[0])) { // names kept (Vite hashes a suffix, esbuild copies; webpack names by hash only)
    assert.equal(/qkv-simd-fma/.test(wasm[0]), result.relaxed, `${name}: the fetched file is that build (${wasm[0]})`);
  }
  // q0 = [1, 0] against keys [1,0], [0,1], [1,1]: scores 1, 0, 1 scaled by 1/√2.
  const w0 = [e, 1, e].map((x) => x / (2 * e + 1));
  w0.forEach((w, j) => assert.ok(Math.abs(result.weights[j] - w) < 1e-6, `${name}: weight ${j}`));
  assert.ok(Math.abs(result.output[0] - (w0[0] * 1 + w0[1] * 3 + w0[2] * 5)) < 1e-5, `${name}: output`);
  assert.deepEqual(result.next.map(([t]) => t), expected.next.map(([t]) => t), `${name}: the model's next words`);
  result.next.forEach(([, p], i) => assert.ok(Math.abs(p - expected.next[i][1]) < 1e-5, `${name}: probability ${i}`));
  assert.ok(result.headWeights.every((w, i) => Math.abs(w - expected.headWeights[i]) < 1e-5), `${name}: layer 2, head 3 weights`);
  assert.equal(result.defined, true, `${name}: customElements.get('qkv-attention') is the element`);
  assert.equal(result.tokens, 7, `${name}: the element computed its sentence`);
  assert.ok(result.canvases >= 1 && result.styled === 1, `${name}: the element drew, styled`);
  assert.ok(requests.some((p) => p.endsWith('.qkv')), `${name}: the weights were fetched`);
}

function checkOnly(name, folder, { result, problems, requests }) {
  assert.deepEqual(problems, [], `${name}: no console errors, warnings or page errors`);
  assert.ok(Math.abs(result.output[0] - (e + 3 + 5 * e) / (2 * e + 1)) < 1e-5, `${name}: attention()`);
  const files = filesUnder(folder);
  assert.deepEqual(files.filter((f) => f.endsWith('.qkv')), [], `${name}: no weight file in an attention()-only build`);
  for (const f of files.filter((f) => f.endsWith('.js'))) {
    assert.doesNotMatch(readFileSync(join(folder, f), 'utf8'), /tiny-lm|glove-10k/, `${name}: ${f} names no weight file`);
  }
  assert.ok(!requests.some((p) => p.endsWith('.qkv')), `${name}: nothing fetches weights`);
}

test('Vite: `vite build` of the app and of an attention()-only app', async () => {
  const vite = await import('vite');
  for (const [input, out] of [['index.html', 'vite'], ['only.html', 'vite-only']]) {
    builds[out] = join(dir, out);
    await vite.build({ root: project, logLevel: 'error', configFile: false, build: { outDir: builds[out], rollupOptions: { input: join(project, input) } } });
  }
  checkApp('Vite', await open(builds.vite, 'index.html', 'bundled-vite.png'));
  checkOnly('Vite, attention() only', builds['vite-only'], await open(builds['vite-only'], 'only.html'));
});

test('webpack: production builds of the app and of an attention()-only app', async () => {
  const { default: webpack } = await import('webpack');
  for (const [entry, out] of [['./main.js', 'webpack'], ['./only.js', 'webpack-only']]) {
    builds[out] = join(dir, out);
    const stats = await new Promise((resolve, reject) => {
      // Not minified: terser took over a minute of the 2-core VM, and nothing checked here depends on it
      // (sideEffects and unused exports are dropped before minification).
      const compiler = webpack({ mode: 'production', context: project, entry, output: { path: builds[out] }, optimization: { minimize: false } });
      compiler.run((err, s) => compiler.close(() => (err ? reject(err) : resolve(s))));
    });
    assert.ok(!stats.hasErrors(), stats.toString('errors-only'));
    writeFileSync(join(builds[out], 'index.html'), page('main.js'));
  }
  checkApp('webpack', await open(builds.webpack, 'index.html'));
  checkOnly('webpack, attention() only', builds['webpack-only'], await open(builds['webpack-only'], 'index.html'));
});

test('esbuild: a bundle, the package files copied as the README says, the assets option', async () => {
  const esbuild = await import('esbuild');
  // The README: esbuild leaves new URL(…, import.meta.url) alone, so dist/ and models/ are copied to
  // a folder of the site and `assets` (the element's `src`) points there.
  for (const [name, source] of [['esbuild', app('/qkv/')], ['esbuild-only', ONLY.replace('ASSETS', "{ assets: '/qkv/' }")]]) {
    builds[name] = join(dir, name);
    writeFileSync(join(project, `${name}.js`), source);
    await esbuild.build({ entryPoints: [join(project, `${name}.js`)], bundle: true, format: 'esm', outfile: join(builds[name], 'main.js'), logLevel: 'error' });
    writeFileSync(join(builds[name], 'index.html'), page('main.js', '/qkv/'));
  }
  for (const folder of ['dist', 'models']) cpSync(join(project, 'node_modules', 'qkv-attention', folder), join(builds.esbuild, 'qkv', folder), { recursive: true });
  checkApp('esbuild', await open(builds.esbuild, 'index.html', 'bundled-esbuild.png'));
  cpSync(join(project, 'node_modules', 'qkv-attention', 'dist'), join(builds['esbuild-only'], 'qkv', 'dist'), { recursive: true });
  checkOnly('esbuild, attention() only', builds['esbuild-only'], await open(builds['esbuild-only'], 'index.html'));
});
