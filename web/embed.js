// embed.html: one <qkv-attention>, configured by URL parameters with the same names as its attributes,
// for course platforms that only take an iframe. Parameters come from the query string and the hash
// (the hash wins), so a parent page can reconfigure the frame by changing its hash alone. A parameter
// given without a value (…&causal&editable) switches that option on. The attributes are set before the
// element is defined, so that it loads its files once, from the right `src`.
import { ATTRIBUTES } from './attributes.js';

const widget = document.getElementById('widget');

function parameters() {
  const merged = new URLSearchParams(location.search);
  for (const [name, value] of new URLSearchParams(location.hash.replace(/^#/, ''))) merged.set(name, value);
  return merged;
}

function configure() {
  const p = parameters();
  for (const name of Object.keys(ATTRIBUTES)) {
    if (p.has(name)) widget.setAttribute(name, p.get(name));
    else widget.removeAttribute(name);
  }
}

configure();
window.addEventListener('hashchange', configure);
await import('./qkv-attention-element.js');
await widget.ready;
document.body.dataset.ready = 'true';

// The frame's height for the lesson page, which may resize the iframe to fit (see embed-example.js):
// sent whenever it changes, and again when the parent asks (its listener may start after ours).
// Only a number leaves the frame.
if (window.parent !== window) {
  const postHeight = () => window.parent.postMessage({ type: 'qkv-attention:height', height: Math.ceil(document.body.getBoundingClientRect().height) }, '*');
  new ResizeObserver(postHeight).observe(document.body);
  window.addEventListener('message', (e) => { if (e.source === window.parent && e.data?.type === 'qkv-attention:measure') postHeight(); });
}
