// Serves the demo page and the package files on 127.0.0.1 with the Content-Security-Policy the page
// is meant to live under. `node scripts/serve.mjs [port]`; also imported by the browser tests.
// Written by hand (not an npm static server) because it is short and must send exactly these
// headers: the CSP, application/wasm, and nothing that reaches outside the origin.
//
// Files are served from memory: read once, kept with a gzip and a brotli copy made in the
// background (node:zlib), and read again only when their size or time stamp changes (a rebuild).
// Each response says its length, its ETag (a revalidation answers 304) and its encoding. Only GET and
// HEAD are answered (405 otherwise), and every response carries the CSP, errors included.
import { createServer } from 'node:http';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { brotliCompress, gzip, constants as zlib } from 'node:zlib';
import { extname, isAbsolute, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// URL prefix → folder. The page is web/; the package's own files are served beside it, unchanged.
const MOUNTS = [['/lib/', 'lib'], ['/dist/', 'dist'], ['/models/', 'models'], ['/', 'web']];
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.wasm': 'application/wasm', '.json': 'application/json', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.qkv': 'application/octet-stream', '.txt': 'text/plain; charset=utf-8', '.ico': 'image/x-icon',
};
export const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; base-uri 'none'; frame-ancestors *";

function resolvePath(urlPath, mounts) {
  for (const [prefix, dir] of mounts) {
    if (!urlPath.startsWith(prefix)) continue;
    const base = isAbsolute(dir) ? dir : join(root, dir);
    const file = normalize(join(base, decodeURIComponent(urlPath.slice(prefix.length))));
    return file === base || file.startsWith(base + sep) ? file : null;
  }
  return null;
}

const gzipAsync = promisify(gzip), brotliAsync = promisify(brotliCompress);
// Compressed copies are kept only where the better of them saves a tenth or more: the int8 weight
// files barely compress, and decompressing them would cost the browser more than the few bytes it
// saves. (The model file's gzip saves just under a tenth, its brotli 12 %: judged by gzip alone,
// 87 KB more went out with every load of the page.)
const WORTH = 0.9;

/** The compressed copies worth keeping of a file of `rawLength` bytes: { gzip?, br? }. */
export function worthKeeping(rawLength, gz, br) {
  if (Math.min(gz.length, br.length) > WORTH * rawLength) return {};
  return { gzip: gz, ...(br.length < gz.length ? { br } : {}) };
}

// file → { key, raw, etag, type, gzip?, br? }; `key` (size and mtime) tells when to read it again.
const cache = new Map();

async function entryOf(file) {
  const info = await stat(file);
  if (info.isDirectory()) return entryOf(join(file, 'index.html'));
  const key = `${info.size}-${info.mtimeMs}`;
  const known = cache.get(file);
  if (known?.key === key) return known;
  const raw = await readFile(file);
  const entry = {
    key, raw, type: TYPES[extname(file)] ?? 'application/octet-stream',
    etag: `"${createHash('sha1').update(raw).digest('base64url').slice(0, 20)}"`,
  };
  cache.set(file, entry);
  entry.compressed = compress(entry); // in the background: until it is done the file goes out as it is
  return entry;
}

async function compress(entry) {
  const { raw } = entry;
  if (raw.length < 512) return;
  const gz = await gzipAsync(raw, { level: 9 });
  const br = await brotliAsync(raw, { params: { [zlib.BROTLI_PARAM_QUALITY]: raw.length > 2 ** 20 ? 9 : 11, [zlib.BROTLI_PARAM_SIZE_HINT]: raw.length } });
  Object.assign(entry, worthKeeping(raw.length, gz, br));
}

function encodingFor(entry, acceptEncoding = '') {
  const accepted = new Set();
  for (const part of acceptEncoding.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (!q || Number(q.slice(2)) > 0) accepted.add(name.trim());
  }
  if (entry.br && accepted.has('br')) return ['br', entry.br];
  if (entry.gzip && accepted.has('gzip')) return ['gzip', entry.gzip];
  return [null, entry.raw];
}

/** Reads and compresses every file under the mounts now, so that the first page load finds them ready. */
async function warm(mounts) {
  const walk = async (dir) => {
    const items = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const it of items) {
      const path = join(dir, it.name);
      if (it.isDirectory()) await walk(path);
      else if (TYPES[extname(path)]) await entryOf(path).then((entry) => entry.compressed).catch(() => {});
    }
  };
  for (const [, dir] of mounts) {
    const base = isAbsolute(dir) ? dir : join(root, dir);
    if ((await stat(base).catch(() => null))?.isDirectory()) await walk(base);
  }
}

// `extraMounts` ([prefix, absolute folder or file] pairs, matched first) lets tests serve pages of their own.
export function startServer({ port = 0, host = '127.0.0.1', extraMounts = [] } = {}) {
  const mounts = [...extraMounts, ...MOUNTS];
  const server = createServer(async (req, res) => {
    const headers = { 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, Allow: 'GET, HEAD', 'Content-Type': 'text/plain' });
      res.end('method not allowed');
      return;
    }
    try {
      const path = new URL(req.url, 'http://x').pathname;
      const file = resolvePath(path, mounts);
      if (!file) throw new Error('outside the mounts');
      const entry = await entryOf(file);
      const common = { ...headers, 'Content-Type': entry.type, ETag: entry.etag, Vary: 'Accept-Encoding' };
      if (req.headers['if-none-match'] === entry.etag) {
        res.writeHead(304, common);
        res.end();
        return;
      }
      const [encoding, body] = encodingFor(entry, req.headers['accept-encoding']);
      res.writeHead(200, { ...common, 'Content-Length': body.length, ...(encoding ? { 'Content-Encoding': encoding } : {}) });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' });
      res.end('not found');
    }
  });
  // Requests Node refuses before the handler sees them (431 headers too large, 400 malformed, …) get
  // the same CSP; Node's default answer would have none.
  server.on('clientError', (err, socket) => {
    // As Node's own handler: nothing can be written to a reset socket or after a response began.
    if (!socket.writable || socket._httpMessage?.headersSent || err.code === 'ECONNRESET') return socket.destroy();
    const status = { HPE_HEADER_OVERFLOW: 431, ERR_HTTP_REQUEST_TIMEOUT: 408 }[err.code] ?? 400;
    const reason = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }[status];
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Security-Policy: ${CSP}\r\nX-Content-Type-Options: nosniff\r\n` +
      'Content-Type: text/plain\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      // `warmed`: every file read and compressed (requests are answered before that, uncompressed).
      const warmed = warm(mounts).catch(() => {});
      resolve({ server, url: `http://${host}:${server.address().port}/`, warmed });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === normalize(process.argv[1])) {
  const wanted = Number(process.argv[2] ?? process.env.PORT ?? 8080);
  const { url, warmed } = await startServer({ port: wanted }).catch((e) => {
    if (e.code !== 'EADDRINUSE') throw e;
    console.log(`port ${wanted} is busy; using a free one`);
    return startServer({ port: 0 });
  });
  await warmed;
  console.log(`qkv-attention demo: ${url}  (Ctrl+C to stop)`);
}
