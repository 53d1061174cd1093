// Where the package's files are and how they are read: the .wasm builds (dist/) and the weights
// (models/). By default each is found next to the module that needs it (a `new URL` of its path
// relative to `import.meta.url`, which webpack and Vite turn into emitted files of their own); the
// `assets` option moves them, like onnxruntime-web's wasmPaths:
//   assets: 'https://example.org/qkv/'   a folder laid out like the package: dist/*.wasm, models/*.qkv
//   assets: { 'qkv-simd.wasm': url, … }  a URL per file name; a file not named keeps its default
// Reading is the same for every file: fs in Node for file: URLs and paths, fetch elsewhere, and one
// kind of error (AssetError) naming the URL that failed and what to set.
import { describe } from './checks.js';
import { AssetError, invalidArgument } from './errors.js';

const isNode = typeof process === 'object' && typeof process.versions?.node === 'string' && typeof window === 'undefined';

// A file's folder in the package, from its name: the asset option is generic over file names, so a
// new build (another .wasm) needs no change here.
const folderOf = (file) => (file.endsWith('.wasm') ? 'dist/' : file.endsWith('.qkv') ? 'models/' : '');

// What relative URLs are relative to: the page in a browser or worker, the working directory in Node.
function here() {
  if (globalThis.document?.baseURI) return globalThis.document.baseURI;
  if (globalThis.location?.href) return globalThis.location.href;
  if (isNode) return `file://${process.cwd().replace(/\\/g, '/').replace(/\/?$/, '/')}`;
  return undefined;
}

/** Checks the `assets` option: undefined, a folder URL, or an object of file name → URL. */
export function checkAssets(fn, assets) {
  if (assets === undefined) return undefined;
  if (typeof assets === 'string' || assets instanceof URL) {
    if (String(assets) === '') throw invalidArgument(`${fn}: assets must be a folder URL or an object of file name → URL, received an empty string`);
    return assets;
  }
  if (assets === null || typeof assets !== 'object' || Array.isArray(assets)) {
    throw invalidArgument(`${fn}: assets must be a folder URL (a string or URL) or an object of file name → URL, received ${describe(assets)}`);
  }
  const map = {};
  for (const file in assets) {
    const url = assets[file];
    if (!(typeof url === 'string' || url instanceof URL)) throw invalidArgument(`${fn}: assets[${JSON.stringify(file)}] must be a URL (a string or URL), received ${describe(url)}`);
    map[file] = url;
  }
  return map;
}

// `text` as an absolute URL: http(s), or file: in Node. A javascript: or data: address is no place
// to fetch a package file from, and a string that is no URL at all fails here, not in fetch.
function absolute(fn, name, text) {
  let url;
  try {
    url = new URL(text, here());
  } catch {
    throw invalidArgument(`${fn}: ${name} must be a URL, received ${describe(text)}`);
  }
  if (!(url.protocol === 'http:' || url.protocol === 'https:' || (url.protocol === 'file:' && isNode) || url.protocol === 'blob:')) {
    throw invalidArgument(`${fn}: ${name} must be an http(s) URL${isNode ? ' or a file path' : ''}, received ${describe(text)}`);
  }
  return url;
}

/** The URL of `file` under the (checked) `assets` option, or `fallback()` (the package's own copy). */
export function assetUrl(fn, file, assets, fallback) {
  if (assets === undefined) return packaged(fn, file, fallback);
  if (typeof assets === 'string' || assets instanceof URL) {
    const folder = absolute(fn, 'assets', String(assets));
    if (!folder.pathname.endsWith('/')) folder.pathname += '/'; // 'https://x/qkv' means the folder qkv/
    return new URL(folderOf(file) + file, folder);
  }
  const mapped = assets[file];
  return mapped === undefined ? packaged(fn, file, fallback) : absolute(fn, `assets[${JSON.stringify(file)}]`, String(mapped));
}

// The package's own copy of `file`. Code bundled as a script (IIFE, CommonJS) has no import.meta.url
// to find it from: then the assets option must say where it is.
function packaged(fn, file, fallback) {
  try {
    return fallback();
  } catch (e) {
    throw new AssetError(`${fn}: cannot tell where ${file} is (this code has no import.meta.url: bundled as a script?); ` +
      `set the \`assets\` option to the folder holding the package's dist/ and models/`, { cause: e });
  }
}

function hint(file) {
  return ` Serve the package's dist/ and models/ folders and set the \`assets\` option (the element's \`src\` attribute) ` +
    `to the folder holding them, or give this file's own URL: assets: { '${file}': url }.`;
}

/**
 * Opens `url` for reading: { bytes } in Node for file: URLs and paths, { response } (a successful
 * fetch) elsewhere. `file`: the package file this is (its name goes into the error's hint), or null
 * for a URL the caller gave. Failures are AssetErrors naming the URL.
 */
export async function openAsset(fn, url, file) {
  const text = String(url);
  const fail = (reason, cause) => new AssetError(`${fn}: could not load ${file ? `${file} from ` : ''}${text} (${reason}).${file ? hint(file) : ''}`, { url: text, cause });
  if (isNode && !/^(https?|data|blob):/i.test(text)) {
    const fs = process.getBuiltinModule
      ? process.getBuiltinModule('node:fs')
      // Node < 20.16: a computed specifier keeps bundlers from trying to resolve node:fs for browsers.
      : await import(/* webpackIgnore: true */ ['node', 'fs'].join(':'));
    try {
      return { bytes: new Uint8Array(fs.readFileSync(text.startsWith('file:') ? new URL(text) : text)) };
    } catch (e) {
      throw fail(e.code ?? e.message, e);
    }
  }
  let response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw fail(`${e.message}${e.cause ? `: ${e.cause.code ?? e.cause.message}` : ''}`, e);
  }
  if (!response.ok) throw fail(`HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
  return { response };
}

/** The bytes at `url` (see openAsset); `onProgress(loaded, total)` is called while downloading. */
export async function readAsset(fn, url, file, onProgress) {
  const opened = await openAsset(fn, url, file);
  if (opened.bytes) return opened.bytes;
  const { response } = opened;
  const total = Number(response.headers.get('content-length')) || 0;
  const broke = (e) => new AssetError(`${fn}: the download of ${String(url)} broke off (${e.message})`, { url: String(url), cause: e });
  if (!onProgress || !response.body) {
    try {
      return new Uint8Array(await response.arrayBuffer());
    } catch (e) {
      throw broke(e);
    }
  }
  const reader = response.body.getReader();
  const chunks = [];
  let loaded = 0;
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (e) {
      throw broke(e);
    }
    if (chunk.done) break;
    chunks.push(chunk.value);
    loaded += chunk.value.length;
    onProgress(loaded, total);
  }
  const out = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

/**
 * A weights source as loadModel and loadEmbeddings take it: bytes in hand, a URL or a path (Node), or
 * undefined for the package's `file` (moved by `assets`). Returns the bytes and how to name them.
 */
export async function readWeights(fn, source, file, assets, fallback, onProgress) {
  if (source instanceof Uint8Array) return { bytes: source, what: 'the given bytes' };
  if (source instanceof ArrayBuffer) return { bytes: new Uint8Array(source), what: 'the given bytes' };
  if (source === undefined) {
    const url = assetUrl(fn, file, assets, fallback);
    return { bytes: await readAsset(fn, url, file, onProgress), what: String(url) };
  }
  if (!(typeof source === 'string' || source instanceof URL)) {
    throw invalidArgument(`${fn}: source must be a URL, a path, an ArrayBuffer or a Uint8Array, received ${describe(source)}`);
  }
  return { bytes: await readAsset(fn, source, null, onProgress), what: String(source) };
}
