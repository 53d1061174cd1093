// The package as a user gets it: `npm pack`, install the tarball into an empty folder, import it by
// name, compute, and type-check a consumer against the shipped declarations; the course widget
// (<qkv-attention>, embed.html) ships complete and draws from the installed folder in Chromium.
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
  for (const f of ['lib/index.js', 'lib/index.d.ts', 'dist/qkv-simd.wasm', 'dist/qkv-simd-fma.wasm', 'dist/qkv-scalar.wasm', 'dist/qkv-simd.js', 'package.json', 'README.md']) {
    assert.ok(files.includes(f), `the tarball ships ${f}`);
  }
  assert.ok(!files.some((f) => /^(src|tests|build|scripts)\//.test(f)), `nothing but the package ships: ${files.join(', ')}`);
  // From web/, only the course widget: the element, embed.html and what they load, not the demo page.
  for (const f of ['web/qkv-attention-element.js', 'web/qkv-attention-element.d.ts', 'web/embed.html']) {
    assert.ok(files.includes(f), `the tarball ships ${f}`);
  }
  assert.ok(!files.some((f) => /^web\/(index\.html|app\.js|embed-example)/.test(f)), 'the demo page itself does not ship');
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
    import { loadAttention, type Attention, type AttentionResult } from 'qkv-attention';
    const qkv: Attention = await loadAttention({ backend: 'auto' });
    const r: AttentionResult = qkv.attention({ q: new Float32Array(4), k: [1, 2, 3, 4], v: [1, 2], dim: 2, causal: true });
    const n: number = r.shape.queries;
    const t = qkv.tensor(8); t.free();
    qkv.multiHeadAttention({ x: [1, 2], params: { wq: [1], wk: [1], wv: [1], wo: [1] }, intermediates: ['weights', 'q'] });
    // @ts-expect-error backend must be one of three names
    await loadAttention({ backend: 'gpu' });
    // @ts-expect-error q is required
    qkv.attention({ k: [1], v: [1], dim: 1 });
    // @ts-expect-error causal is a boolean
    qkv.attention({ q: [1], k: [1], v: [1], dim: 1, causal: 'yes' });
    const model = await qkv.loadModel();
    const first = model.run('the cat sat', { topK: 3 });
    const again = model.run('the cat sat down', { reuse: first });
    const w: Float32Array = again.layers[0].heads[0].weights;
    // @ts-expect-error reuse takes an earlier run's result
    model.run('the cat', { reuse: 'first' });
    // @ts-expect-error unknown intermediate
    qkv.multiHeadAttention({ x: [1], params: { wq: [1], wk: [1], wv: [1], wo: [1] }, intermediates: ['attention'] });
    export { n, w };
  `);
  writeFileSync(join(app, 'widget.ts'), `
    import { type QkvAttentionElement, DEFAULT_SENTENCE } from 'qkv-attention/element';
    const el: QkvAttentionElement = document.createElement('qkv-attention');
    el.setAttribute('sentence', DEFAULT_SENTENCE);
    await el.ready;
    // @ts-expect-error ready is read-only
    el.ready = Promise.resolve();
    export { el };
  `);
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true }, files: ['consumer.ts', 'widget.ts'] }));
  const tsc = join(root, 'node_modules', '.bin', 'tsc');
  assert.ok(existsSync(tsc), 'typescript is installed (devDependency)');
  try {
    run(tsc, ['-p', 'tsconfig.json'], app);
  } catch (err) {
    assert.fail(`tsc reported errors:\n${err.stdout}${err.stderr}`);
  }

  // The iframe page as a course author hosts it: straight from the installed folder, under the CSP.
  const installed = join(app, 'node_modules', 'qkv-attention');
  const browser = await openBrowser({ extraMounts: [['/', installed]] });
  t.after(() => browser.close());
  const page = await browser.context.newPage();
  const origin = new URL(browser.url).origin;
  const seen = await watchPage(page, origin);
  await page.goto(`${origin}/web/embed.html?sentence=${encodeURIComponent('Paris is the capital of France.')}&causal`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  const shown = await page.$eval('qkv-attention', (el) => ({ n: el.run?.n, canvases: el.shadowRoot.querySelectorAll('canvas').length }));
  assert.equal(shown.n, 7, 'seven tokens computed from the installed package');
  assert.ok(shown.canvases >= 1, 'a view is drawn');
  assert.deepEqual(await seen.cspViolations(), [], 'no CSP violation');
  assert.deepEqual(seen.errors, [], 'no console or page errors');
  assert.deepEqual(seen.foreign, [], 'no request leaves the origin');
});

test('the runtime exports match the declarations', async () => {
  const mod = await import('../../lib/index.js');
  const dts = readFileSync(join(root, 'lib', 'index.d.ts'), 'utf8');
  const declared = [...dts.matchAll(/^export (?:function|class) (\w+)/gm)].map((m) => m[1]).sort();
  assert.deepEqual(Object.keys(mod).sort(), declared);
});
