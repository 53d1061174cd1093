// The development server (scripts/serve.mjs), the page's CSP host: only GET and HEAD are answered, and
// every response carries the Content-Security-Policy — 404s, 405s and the errors Node answers itself
// (431 headers too large, 400 malformed) included (issue 12, item 12).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startServer, CSP, worthKeeping } from '../../scripts/serve.mjs';

let server, base, warmed;
before(async () => {
  ({ server, url: base, warmed } = await startServer({ port: 0 }));
});
after(() => new Promise((resolve) => server.close(resolve)));

// One raw HTTP exchange: what a browser would never send, written byte for byte. The server closes
// the connection after its answer (Connection: close, or an error).
function raw(request) {
  const { port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => { text += chunk; });
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

const header = (response, name) => response.split('\r\n\r\n')[0].split('\r\n')
  .find((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`))?.slice(name.length + 1).trim();

test('GET and HEAD serve the page with the CSP', async () => {
  const get = await fetch(base);
  assert.equal(get.status, 200);
  assert.equal(get.headers.get('content-security-policy'), CSP);
  assert.match(await get.text(), /<!doctype html>/i);
  const head = await fetch(base, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-security-policy'), CSP);
  assert.equal(await head.text(), '');
  const again = await fetch(base, { headers: { 'If-None-Match': get.headers.get('etag') } });
  assert.equal(again.status, 304);
  assert.equal(again.headers.get('content-security-policy'), CSP);
});

test('every other method is 405 with Allow: GET, HEAD and the CSP, never the file', async () => {
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
    const res = await fetch(`${base}index.html`, { method, body: method === 'OPTIONS' ? undefined : 'x' });
    assert.equal(res.status, 405, method);
    assert.equal(res.headers.get('allow'), 'GET, HEAD', method);
    assert.equal(res.headers.get('content-security-policy'), CSP, method);
    assert.doesNotMatch(await res.text(), /<html/i, method);
  }
  // fetch() refuses to send TRACE; a raw request can.
  const trace = await raw('TRACE /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.match(trace, /^HTTP\/1\.1 405 /);
  assert.equal(header(trace, 'Allow'), 'GET, HEAD');
  assert.equal(header(trace, 'Content-Security-Policy'), CSP);
});

test('errors carry the CSP: 404, a path outside the mounts, 431 and 400', async () => {
  const missing = await fetch(`${base}no/such/file.js`);
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get('content-security-policy'), CSP);
  const outside = await raw('GET /../package.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.match(outside, /^HTTP\/1\.1 404 /);
  assert.equal(header(outside, 'Content-Security-Policy'), CSP);
  // Node answers these before the request handler runs.
  const tooLarge = await raw(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`);
  assert.match(tooLarge, /^HTTP\/1\.1 431 /);
  assert.equal(header(tooLarge, 'Content-Security-Policy'), CSP);
  const malformed = await raw('GET / HTTP/1.1\r\nHost x\r\n\r\n');
  assert.match(malformed, /^HTTP\/1\.1 400 /);
  assert.equal(header(malformed, 'Content-Security-Policy'), CSP);
  // The server still answers afterwards.
  assert.equal((await fetch(base)).status, 200);
});

test('a compressed copy is kept where the better of gzip and brotli saves a tenth', () => {
  const bytes = (n) => new Uint8Array(n);
  assert.deepEqual(Object.keys(worthKeeping(1000, bytes(950), bytes(960))), [], 'neither saves a tenth');
  assert.deepEqual(Object.keys(worthKeeping(1000, bytes(901), bytes(876))), ['gzip', 'br'], 'brotli does: both kept, brotli first');
  assert.deepEqual(Object.keys(worthKeeping(1000, bytes(500), bytes(520))), ['gzip'], 'gzip is the smaller');
});

test('once `warmed` resolves, every file is compressed: the first page load gets the compressed copies', async () => {
  await warmed;
  const response = await raw('GET /models/tiny-lm.qkv HTTP/1.1\r\nHost: x\r\nAccept-Encoding: br, gzip\r\nConnection: close\r\n\r\n');
  assert.equal(header(response, 'Content-Encoding'), 'br', 'the model goes out as brotli (it saves more than a tenth)');
});
