// A/B of the package's JavaScript per call, for work on lib/ (not part of `npm test`): two copies of
// the package (each a folder holding lib/ and dist/) loaded in one process, the same small calls
// timed on each in interleaved rounds by this process's CPU time, medians per call.
//
//   node bench/calls.mjs A B [rounds]
//
// e.g. copy lib/ and dist/ to /tmp/before/ before a change, then `node bench/calls.mjs /tmp/before .`
// The calls: n = 8, d = 64, one head, with resident Tensors in and out (the wrapper's own cost and
// the core's), and with Float32Arrays copied in and a new output array out.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [a, b, rounds = '15'] = process.argv.slice(2);
if (!a || !b) {
  console.error('usage: node bench/calls.mjs A B [rounds]  (A, B: folders holding lib/ and dist/)');
  process.exit(2);
}
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const median = (x) => [...x].sort((p, q) => p - q)[x.length >> 1];
const n = 8, d = 64, len = n * d;
let seed = 1;
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return (seed / 2147483648) * 2 - 1; };
const data = [0, 1, 2].map(() => Float32Array.from({ length: len }, rnd));

const sides = [];
for (const dir of [a, b]) {
  const { loadAttention } = await import(pathToFileURL(resolve(dir, 'lib/index.js')).href);
  const qkv = await loadAttention({ backend: 'simd' });
  const t = { q: qkv.tensor(data[0]), k: qkv.tensor(data[1]), v: qkv.tensor(data[2]), out: qkv.tensor(len) };
  const resident = { q: t.q, k: t.k, v: t.v, dim: d, out: { output: t.out } };
  const copying = { q: data[0], k: data[1], v: data[2], dim: d };
  sides.push({ dir, calls: { resident: () => qkv.attention(resident), copying: () => qkv.attention(copying) }, times: { resident: [], copying: [] } });
}
const per = (call, count) => { const t0 = cpuMs(); for (let i = 0; i < count; ++i) call(); return ((cpuMs() - t0) * 1000) / count; };
const COUNT = 20000;
for (const s of sides) for (const name in s.calls) per(s.calls[name], COUNT); // warm-up
for (let r = 0; r < +rounds; ++r) {
  for (const s of r % 2 ? [...sides].reverse() : sides) {
    for (const name in s.calls) s.times[name].push(per(s.calls[name], COUNT));
  }
}
// Medians, and the fastest round of each (what a neighbour's load inflates least on a shared machine).
for (const name of ['resident', 'copying']) {
  const [ma, mb] = sides.map((s) => median(s.times[name]));
  const [fa, fb] = sides.map((s) => Math.min(...s.times[name]));
  console.log(`${name.padEnd(9)} median A ${ma.toFixed(3)} µs  B ${mb.toFixed(3)} µs  B/A ${(mb / ma).toFixed(3)};  ` +
    `fastest A ${fa.toFixed(3)} µs  B ${fb.toFixed(3)} µs  B/A ${(fb / fa).toFixed(3)}`);
}
console.log(`(A ${sides[0].dir}, B ${sides[1].dir}; ${rounds} interleaved rounds of ${COUNT} calls each)`);
