// Loading a WebAssembly build: which one this engine runs, where its .wasm is (assets.js), compiling
// it with errors that say what failed, and handing the compiled module to Emscripten's glue.
//
// The glue never fetches anything itself: it gets an instantiateWasm hook that instantiates what was
// compiled here. Its own fetch fallback ends in "Aborted(both async and sync fetching of the wasm
// failed)" after printing to the console; here a missing file is an AssetError naming its URL and
// the option to set, and bytes that are not this build are an AssetError saying so.
import { Attention } from './attention.js';
import { assetUrl, checkAssets, openAsset } from './assets.js';
import { checkOptions, optionNames, choice, describe } from './checks.js';
import { AssetError, invalidArgument } from './errors.js';

// (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt): valid only where SIMD128 is supported.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10,
  1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

// Three splats and f32x4.relaxed_madd (0xfd 0x85 0x02): valid only where relaxed SIMD is supported.
const RELAXED_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 19,
  1, 17, 0, 65, 0, 253, 15, 65, 0, 253, 15, 65, 0, 253, 15, 253, 133, 2, 11]);

const validates = (probe) => {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(probe);
  } catch {
    return false;
  }
};

/** True when this engine runs WebAssembly SIMD128. */
export function simdSupported() {
  return validates(SIMD_PROBE);
}

/** True when this engine runs relaxed SIMD (f32x4.relaxed_madd), which the 'fma' build needs. */
export function relaxedSimdSupported() {
  return validates(RELAXED_PROBE);
}

// The builds, by `backend` option value, in the order 'auto' tries them. Each default URL is written
// out in full (a literal `new URL(…, import.meta.url)`) so that bundlers find the file and emit it.
// The relaxed-SIMD (fused multiply-add) build shares the SIMD build's glue.
const BUILDS = Object.freeze({
  __proto__: null,
  fma: {
    file: 'qkv-simd-fma.wasm', backend: 'wasm-relaxed-simd', supported: relaxedSimdSupported,
    glue: () => import('../dist/qkv-simd.js'),
    url: () => new URL('../dist/qkv-simd-fma.wasm', import.meta.url),
  },
  simd: {
    file: 'qkv-simd.wasm', backend: 'wasm-simd128', supported: simdSupported,
    glue: () => import('../dist/qkv-simd.js'),
    url: () => new URL('../dist/qkv-simd.wasm', import.meta.url),
  },
  scalar: {
    file: 'qkv-scalar.wasm', backend: 'wasm-scalar', supported: () => typeof WebAssembly === 'object',
    glue: () => import('../dist/qkv-scalar.js'),
    url: () => new URL('../dist/qkv-scalar.wasm', import.meta.url),
  },
});
const BACKENDS = Object.freeze({ __proto__: null, auto: true, ...Object.fromEntries(Object.keys(BUILDS).map((k) => [k, true])) });
const LOAD_OPTIONS = optionNames('backend', 'assets', 'wasmBinary');

const loaded = new Map();

/**
 * Loads the WebAssembly module once per backend and file location, and resolves to an
 * {@link Attention} instance. Later calls with the same backend and location return the same one.
 */
export function loadAttention(options = {}) {
  try {
    return load(options);
  } catch (e) {
    return Promise.reject(e); // bad options reject like a failed load: one way to catch both
  }
}

function load(options) {
  const fn = 'loadAttention';
  const o = checkOptions(fn, 'options', options, LOAD_OPTIONS);
  const backend = choice(fn, 'backend', o.backend, 'auto', BACKENDS, `one of ${Object.keys(BACKENDS).map((k) => `'${k}'`).join(', ')}`);
  const assets = checkAssets(fn, o.assets);
  const wasmBinary = o.wasmBinary;
  if (wasmBinary !== undefined && !(wasmBinary instanceof ArrayBuffer || ArrayBuffer.isView(wasmBinary))) {
    throw invalidArgument(`${fn}: wasmBinary must be an ArrayBuffer or a Uint8Array, received ${describe(wasmBinary)}`);
  }
  const flavour = backend === 'auto' ? Object.keys(BUILDS).find((f) => BUILDS[f].supported()) ?? 'scalar' : backend;
  const build = BUILDS[flavour];
  if (!build.supported()) {
    const what = { fma: 'relaxed SIMD (Node 20: --experimental-wasm-relaxed-simd)', simd: 'WebAssembly SIMD128', scalar: 'WebAssembly' }[flavour];
    return Promise.reject(new AssetError(`${fn}: backend '${flavour}' was asked for, but this engine has no ${what}`, { code: 'ERR_QKV_UNSUPPORTED' }));
  }
  if (wasmBinary !== undefined) return instantiate(fn, build, null, wasmBinary); // the caller's bytes: a module of its own
  const url = assetUrl(fn, build.file, assets, build.url);
  const key = `${flavour} ${url}`;
  if (!loaded.has(key)) {
    const promise = instantiate(fn, build, url, null);
    loaded.set(key, promise);
    promise.catch(() => loaded.delete(key));
  }
  return loaded.get(key);
}

async function instantiate(fn, build, url, bytes) {
  const compiled = bytes ? await compile(fn, build, 'wasmBinary', () => WebAssembly.compile(bytes)) : await compileFrom(fn, build, url);
  const { default: factory } = await build.glue();
  const foreign = (e) => new AssetError(`${fn}: ${url ?? 'wasmBinary'} is WebAssembly but not this package's ${build.file} (${e.message})`,
    { url: url && String(url), cause: e });
  const module = await new Promise((resolve, reject) => {
    factory({
      // Given, so that the glue never builds a URL of its own (it would need import.meta.url).
      locateFile: (file) => file,
      instantiateWasm(imports, receive) {
        WebAssembly.instantiate(compiled, imports).then((instance) => {
          try {
            receive(instance, compiled);
          } catch (e) {
            reject(foreign(e)); // a module of other exports: the glue cannot take it
          }
        }, (e) => reject(foreign(e)));
        return {};
      },
    }).then(resolve, reject);
  });
  try {
    return new Attention(module, build.backend);
  } catch (e) {
    throw foreign(e);
  }
}

function compile(fn, build, what, run) {
  return run().catch((e) => {
    throw new AssetError(`${fn}: ${what} is not a WebAssembly module (${e.message}); expected the bytes of ${build.file}`, { cause: e });
  });
}

async function compileFrom(fn, build, url) {
  const { bytes, response } = await openAsset(fn, url, build.file);
  if (bytes) return compile(fn, build, String(url), () => WebAssembly.compile(bytes));
  const type = response.headers.get('content-type') ?? '';
  // Streaming compiles while downloading, but only from a response served as application/wasm.
  if (typeof WebAssembly.compileStreaming === 'function' && type.split(';')[0].trim() === 'application/wasm') {
    return compile(fn, build, String(url), () => WebAssembly.compileStreaming(response));
  }
  const received = new Uint8Array(await response.arrayBuffer());
  return compile(fn, build, `${url} (served as ${type || 'no content type'})`, () => WebAssembly.compile(received));
}
