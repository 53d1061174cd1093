// The package where developers use it: a Node without SIMD (falls back to the scalar build), a
// bundle made by esbuild, and (tests/browser/package-in-browser.test.js) a browser page and a Worker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, copyFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('without SIMD (node --no-enable-sse4-1) auto picks the scalar build, and forcing simd rejects clearly', () => {
  const out = execFileSync(process.execPath, ['--no-enable-sse4-1', '--input-type=module', '-e', `
    import { loadAttention, simdSupported } from ${JSON.stringify(join(root, 'lib/index.js'))};
    const qkv = await loadAttention();
    const r = qkv.attention({ q: [1, 0], k: [1, 0, 0, 1], v: [1, 2, 3, 4], dim: 2 });
    let forced = 'resolved';
    try { await loadAttention({ backend: 'simd' }); } catch (e) { forced = e.message; }
    console.log(JSON.stringify({ simd: simdSupported(), backend: qkv.backend, out: [...r.output], forced }));
  `], { encoding: 'utf8' });
  const r = JSON.parse(out);
  assert.equal(r.simd, false);
  assert.equal(r.backend, 'wasm-scalar');
  const e = Math.exp(1 / Math.sqrt(2));
  assert.ok(Math.abs(r.out[0] - (e + 3) / (e + 1)) < 1e-6);
  assert.match(r.forced, /backend 'simd' was asked for, but this engine has no WebAssembly SIMD128/);
});

test('an esbuild bundle for the browser builds without node: imports, and runs from its folder', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-esbuild-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'entry.js'), `
    import { loadAttention } from ${JSON.stringify(join(root, 'lib/index.js'))};
    const qkv = await loadAttention({ backend: 'simd', assets: { 'qkv-simd.wasm': new URL('./qkv-simd.wasm', import.meta.url) } });
    globalThis.result = qkv.attention({ q: [1, 0], k: [1, 0, 0, 1], v: [1, 2, 3, 4], dim: 2 }).output[0];
  `);
  const esbuild = await import('esbuild');
  await esbuild.build({ entryPoints: [join(dir, 'entry.js')], bundle: true, format: 'esm', platform: 'browser',
    splitting: true, outdir: join(dir, 'out'), logLevel: 'silent' });
  const bundle = readFileSync(join(dir, 'out', 'entry.js'), 'utf8');
  assert.ok(!/from\s*["']node:/.test(bundle) && !/require\(["']node:/.test(bundle), 'no node: imports in the browser bundle');
  // esbuild leaves new URL(…, import.meta.url) alone: the .wasm goes next to the bundle.
  copyFileSync(join(root, 'dist', 'qkv-simd.wasm'), join(dir, 'out', 'qkv-simd.wasm'));
  // Node can run the browser bundle too: the assets option's file: URL is read from disk.
  await import(join(dir, 'out', 'entry.js'));
  const e = Math.exp(1 / Math.sqrt(2));
  assert.ok(Math.abs(globalThis.result - (e + 3) / (e + 1)) < 1e-6);
});

test('bundled as a script (no import.meta.url), the package says to set assets, and works once it is set', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-cjs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'entry.js'), `
    import { loadAttention } from ${JSON.stringify(join(root, 'lib/index.js'))};
    import { loadEmbeddings } from ${JSON.stringify(join(root, 'lib/model.js'))};
    (async () => {
    const out = {};
    try { await loadAttention({ backend: 'scalar' }); } catch (e) { out.wasm = e.name + ' ' + e.code + ' ' + e.message; }
    try { await loadEmbeddings(); } catch (e) { out.vectors = e.name + ' ' + e.message; }
    const qkv = await loadAttention({ backend: 'scalar', assets: ${JSON.stringify(`file://${root}`)} });
    out.output = qkv.attention({ q: [1], k: [1], v: [2], dim: 1 }).output[0];
    out.dim = (await loadEmbeddings(undefined, { assets: ${JSON.stringify(`file://${root}`)} })).dim;
    console.log(JSON.stringify(out));
    })();
  `);
  const esbuild = await import('esbuild');
  await esbuild.build({ entryPoints: [join(dir, 'entry.js')], bundle: true, format: 'cjs', platform: 'node', outfile: join(dir, 'out.cjs'), logLevel: 'silent' });
  const r = JSON.parse(execFileSync(process.execPath, [join(dir, 'out.cjs')], { encoding: 'utf8' }));
  assert.match(r.wasm, /^AssetError ERR_QKV_ASSET loadAttention: cannot tell where qkv-scalar.wasm is \(this code has no import.meta.url: bundled as a script\?\); set the `assets` option/);
  assert.match(r.vectors, /^AssetError loadEmbeddings: cannot tell where glove-10k.qkv is/);
  assert.equal(r.output, 2);
  assert.equal(r.dim, 100);
});
