// Serves the demo page and the package files on 127.0.0.1 with the Content-Security-Policy the page
// is meant to live under. `node scripts/serve.mjs [port]`; also imported by the browser tests.
// Written by hand (not an npm static server) because it is 60 lines and must send exactly these
// headers: the CSP, application/wasm, and nothing that reaches outside the origin.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, isAbsolute, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// URL prefix → folder. The page is web/; the package's own files are served beside it, unchanged.
const MOUNTS = [['/bindings/', 'bindings'], ['/dist/', 'dist'], ['/models/', 'models'], ['/', 'web']];
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

// `extraMounts` ([prefix, absolute folder] pairs, matched first) lets tests serve pages of their own.
export function startServer({ port = 0, host = '127.0.0.1', extraMounts = [] } = {}) {
  const mounts = [...extraMounts, ...MOUNTS];
  const server = createServer(async (req, res) => {
    const headers = { 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' };
    try {
      const path = new URL(req.url, 'http://x').pathname;
      let file = resolvePath(path, mounts);
      if (file && (await stat(file).catch(() => null))?.isDirectory()) file = join(file, 'index.html');
      const body = file ? await readFile(file) : null;
      res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' });
      res.end('not found');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve({ server, url: `http://${host}:${server.address().port}/` }));
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === normalize(process.argv[1])) {
  const wanted = Number(process.argv[2] ?? process.env.PORT ?? 8080);
  const { url } = await startServer({ port: wanted }).catch((e) => {
    if (e.code !== 'EADDRINUSE') throw e;
    console.log(`port ${wanted} is busy; using a free one`);
    return startServer({ port: 0 });
  });
  console.log(`qkv-attention demo: ${url}  (Ctrl+C to stop)`);
}
