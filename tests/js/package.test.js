// The package as a user gets it: `npm pack`, install the tarball into an empty folder, import it by
// name, compute, type-check a consumer and every example of the README against the shipped
// declarations (tsc --strict), run publint over it; the course widget (<qkv-attention>, embed.html)
// ships complete and draws from the installed folder in Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openBrowser, watchPage } from '../browser/chromium.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test('npm pack → install into an empty folder → import → compute → types check', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-pack-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const packOut = run('npm', ['pack', '--json', '--pack-destination', dir], root); // prepack's build log comes first
  const packed = JSON.parse(packOut.slice(packOut.search(/^\[\s*$/m)))[0];
  const files = packed.files.map((f) => f.path).sort();
  for (const f of ['lib/index.js', 'lib/index.d.ts', 'lib/model.js', 'lib/model.d.ts', 'dist/qkv-simd.wasm', 'dist/qkv-simd-fma.wasm',
    'dist/qkv-scalar.wasm', 'dist/qkv-simd.js', 'dist/attention-css.js', 'package.json', 'README.md', 'LICENSE',
    'custom-elements.json', 'web/iframe-resizer.js', 'web/iframe-resizer.d.ts']) {
    assert.ok(files.includes(f), `the tarball ships ${f}`);
  }
  assert.ok(!files.some((f) => /^(src|tests|build|scripts)\//.test(f)), `nothing but the package ships: ${files.join(', ')}`);
  // From web/, only the course widget: the element, embed.html and what they load, not the demo page.
  for (const f of ['web/qkv-attention-element.js', 'web/qkv-attention-element.d.ts', 'web/embed.html']) {
    assert.ok(files.includes(f), `the tarball ships ${f}`);
  }
  assert.ok(!files.some((f) => /^web\/(index\.html|app\.js|embed-example)/.test(f) || f === 'dist/page.js'), 'the demo page itself does not ship');
  // Every relative file a shipped page or module refers to is in the tarball too.
  for (const f of files.filter((name) => /^(web|lib)\/.*\.(js|html)$/.test(name))) {
    const text = readFileSync(join(root, f), 'utf8');
    const refs = [...text.matchAll(/(?:from\s+|import\(\s*|new URL\(\s*|(?:src|href)=)['"](\.{1,2}\/[^'"]+|[\w-]+\.(?:js|css|svg|html))['"]/g)].map((m) => m[1]);
    for (const ref of refs) {
      const target = normalize(join(dirname(f), ref.split(/[?#]/)[0]));
      assert.ok(files.includes(target), `${f} refers to ${ref}, which the tarball lacks`);
    }
  }

  const app = join(dir, 'app');
  run('mkdir', ['-p', app], dir);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  run('npm', ['install', '--no-audit', '--no-fund', '--offline', join(dir, packed.filename)], app);
  writeFileSync(join(app, 'main.mjs'), `
    import { loadAttention, simdSupported } from 'qkv-attention';
    const out = {};
    for (const backend of ['fma', 'simd', 'scalar']) {
      const qkv = await loadAttention({ backend });
      const { output, weights } = qkv.attention({ q: [1, 0], k: [1, 0, 0, 1], v: [1, 2, 3, 4], dim: 2, returnWeights: true });
      out[backend] = { backend: qkv.backend, output: [...output], weights: [...weights] };
    }
    out.simd_supported = simdSupported();
    console.log(JSON.stringify(out));
  `);
  const result = JSON.parse(run('node', ['--experimental-wasm-relaxed-simd', 'main.mjs'], app));
  const e = Math.exp(1 / Math.sqrt(2));
  for (const backend of ['fma', 'simd', 'scalar']) {
    assert.ok(Math.abs(result[backend].weights[0] - e / (e + 1)) < 1e-6);
    assert.ok(Math.abs(result[backend].output[0] - (1 * e + 3) / (e + 1)) < 1e-6);
  }
  assert.equal(result.fma.backend, 'wasm-relaxed-simd');
  assert.equal(result.simd.backend, 'wasm-simd128');
  assert.equal(result.simd_supported, true);

  // Types: a consumer that uses the API and lines that must not compile.
  writeFileSync(join(app, 'consumer.ts'), `
    import { loadAttention, type Attention, type AttentionResult, type Tensor, AssetError } from 'qkv-attention';
    import { loadModel, loadEmbeddings, type Model } from 'qkv-attention/model';
    import { fitFrames } from 'qkv-attention/iframe-resizer';
    const qkv: Attention = await loadAttention({ backend: 'auto', assets: { 'qkv-simd.wasm': '/x.wasm' } });
    const r: AttentionResult = qkv.attention({ q: new Float32Array(4), k: [1, 2, 3, 4], v: [1, 2], dim: 2, causal: true });
    const n: number = r.shape.queries;
    const first: number = qkv.attention({ q: [1], k: [1], v: [1], dim: 1 }).output[0];
    const withWeights = qkv.attention({ q: [1], k: [1], v: [1], dim: 1, returnWeights: true });
    const w0: number = withWeights.weights[0];
    const into = qkv.tensor(1);
    const resident: Tensor = qkv.attention({ q: [1], k: [1], v: [1], dim: 1, out: { output: into } }).output;
    // @ts-expect-error weights were not asked for
    const none: Float32Array = qkv.attention({ q: [1], k: [1], v: [1], dim: 1 }).weights;
    // @ts-expect-error a misspelt option
    qkv.attention({ q: [1], k: [1], v: [1], dim: 1, casual: true });
    const code: string | undefined = new AssetError('x').code;
    fitFrames({ max: 2000 })();
    const t = qkv.tensor(8); t.free();
    qkv.multiHeadAttention({ x: [1, 2], params: { wq: [1], wk: [1], wv: [1], wo: [1] }, intermediates: ['weights', 'q'] });
    // @ts-expect-error backend must be one of three names
    await loadAttention({ backend: 'gpu' });
    // @ts-expect-error q is required
    qkv.attention({ k: [1], v: [1], dim: 1 });
    // @ts-expect-error causal is a boolean
    qkv.attention({ q: [1], k: [1], v: [1], dim: 1, causal: 'yes' });
    const model: Model = await loadModel(undefined, { attention: qkv, onProgress: (loaded, total) => loaded / total });
    const earlier = model.run('the cat sat', { topK: 3 });
    const again = model.run('the cat sat down', { reuse: earlier });
    const glove = await loadEmbeddings();
    const vectors: Float32Array = glove.lookup('the cat').vectors;
    const w: Float32Array = again.layers[0].heads[0].weights;
    // @ts-expect-error reuse takes an earlier run's result
    model.run('the cat', { reuse: 'first' });
    // @ts-expect-error unknown intermediate
    qkv.multiHeadAttention({ x: [1], params: { wq: [1], wk: [1], wv: [1], wo: [1] }, intermediates: ['attention'] });
    // @ts-expect-error loadModel's options are its own
    await loadModel(undefined, { atention: qkv });
    export { n, w, first, w0, resident, none, code, vectors };
  `);
  writeFileSync(join(app, 'widget.ts'), `
    import { type QkvAttentionElement, type QkvSelection, DEFAULT_SENTENCE } from 'qkv-attention/element';
    const el: QkvAttentionElement = document.createElement('qkv-attention');
    el.setAttribute('sentence', DEFAULT_SENTENCE);
    await el.ready;
    const n: number | undefined = el.run?.layers[0].heads[0].weights.length;
    const chosen: QkvSelection = el.selection;
    el.addEventListener('qkv-select', (e) => { const q: number | null = e.detail.query; return q; });
    // @ts-expect-error ready is read-only
    el.ready = Promise.resolve();
    el.setState({ knobs: { heads: 4 }, head: 'previous', query: 'cat', context: 'A second text.' });
    el.addEventListener('qkv-change', (e) => { const text: string = e.detail.text; return text; });
    const svg: Promise<Blob> = el.exportView('heatmap', 'svg');
    await el.showAttention({ tokens: ['a'], attentions: [[[[1]]]] });
    const m: number | undefined = el.run?.m;
    // @ts-expect-error no such view
    el.exportView('sideways');
    // @ts-expect-error heads is a number
    el.setState({ knobs: { heads: 'four' } });
    // @ts-expect-error not a pattern a lesson knows
    el.setState({ head: 'sideways' });
    export { el, n, chosen, svg, m };
  `);
  // Every JavaScript and TypeScript example of the README, each a module of its own.
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const examples = [...readme.matchAll(/^```(js|ts)\n([\s\S]*?)^```$/gm)].map((m) => m[2]);
  assert.ok(examples.length >= 6, `README examples found: ${examples.length}`);
  examples.forEach((code, i) => writeFileSync(join(app, `readme-${i + 1}.ts`), `${code}\nexport {};\n`));
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true },
    files: ['consumer.ts', 'widget.ts', ...examples.map((_, i) => `readme-${i + 1}.ts`)],
  }));
  const tsc = join(root, 'node_modules', '.bin', 'tsc');
  assert.ok(existsSync(tsc), 'typescript is installed (devDependency)');
  try {
    run(tsc, ['-p', 'tsconfig.json'], app);
  } catch (err) {
    assert.fail(`tsc reported errors:\n${err.stdout}${err.stderr}`);
  }

  // publint: the package.json fields, exports and files as the npm ecosystem reads them.
  const installed = join(app, 'node_modules', 'qkv-attention');
  const { publint } = await import('publint');
  const { formatMessage } = await import('publint/utils');
  const linted = await publint({ pkgDir: installed, level: 'suggestion', strict: true });
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
  assert.deepEqual(linted.messages.map((m) => `${m.type}: ${formatMessage(m, manifest)}`), [], 'publint finds nothing');

  // The element's manifest lists every attribute the element observes.
  const { ATTRIBUTES } = await import('../../web/attributes.js');
  const elements = JSON.parse(readFileSync(join(installed, 'custom-elements.json'), 'utf8'));
  const declared = elements.modules[0].declarations[0];
  assert.equal(declared.tagName, 'qkv-attention');
  assert.deepEqual(declared.attributes.map((a) => a.name), Object.keys(ATTRIBUTES));
  assert.ok(declared.attributes.every((a) => a.description && a.default !== undefined), 'each attribute described, with its default');
  for (const name of ['state', 'setState', 'loadModel', 'showAttention', 'showFile', 'lesson', 'goToStep', 'exportView', 'exportMatrix']) {
    assert.ok(declared.members.some((m) => m.name === name), `the manifest lists ${name}`);
  }
  assert.deepEqual(declared.events.map((e) => e.name), ['qkv-select', 'qkv-change', 'qkv-draw', 'qkv-model', 'qkv-lesson']);

  // The iframe page as a course author hosts it: straight from the installed folder, under the CSP.
  const browser = await openBrowser({ extraMounts: [['/', installed]] });
  t.after(() => browser.close());
  const page = await browser.context.newPage();
  const origin = new URL(browser.url).origin;
  const seen = await watchPage(page, origin);
  await page.goto(`${origin}/web/embed.html?sentence=${encodeURIComponent('Paris is the capital of France.')}&causal`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  const shown = await page.$eval('qkv-attention', (el) => ({ n: el.run?.n, canvases: el.shadowRoot.querySelectorAll('canvas').length }));
  assert.equal(shown.n, 7, 'seven tokens computed from the installed package');
  // Every property, method, part and slot the manifest lists is there on the running element.
  const missing = await page.$eval('qkv-attention', (el, { members, parts, slots }) => [
    ...members.filter((m) => !(m in el)).map((m) => `member ${m}`),
    ...parts.filter((p) => !el.shadowRoot.querySelector(`[part~="${p}"]`)).map((p) => `part ${p}`),
    ...slots.filter((s) => !el.shadowRoot.querySelector(`slot[name="${s}"]`)).map((s) => `slot ${s}`),
  ], { members: declared.members.map((m) => m.name), parts: declared.cssParts.map((p) => p.name), slots: declared.slots.map((s) => s.name) });
  assert.deepEqual(missing, [], 'custom-elements.json describes the element as it runs');
  assert.ok(shown.canvases >= 1, 'a view is drawn');
  assert.deepEqual(await seen.cspViolations(), [], 'no CSP violation');
  assert.deepEqual(seen.errors, [], 'no console or page errors');
  assert.deepEqual(seen.foreign, [], 'no request leaves the origin');
});

test('the runtime exports match the declarations, for each entry', async () => {
  for (const entry of ['index', 'model']) {
    const mod = await import(`../../lib/${entry}.js`);
    const dts = readFileSync(join(root, 'lib', `${entry}.d.ts`), 'utf8');
    const declared = [...dts.matchAll(/^export (?:function|class|const) (\w+)/gm), ...dts.matchAll(/^export \{ (\w+) \} from/gm)].map((m) => m[1]).sort();
    assert.deepEqual(Object.keys(mod).sort(), declared, entry);
  }
});
