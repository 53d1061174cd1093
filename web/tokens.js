// The token strips of <qkv-attention>: the typed text with each token as a button. The query strip
// holds the sentence; with a second text (cross-attention) a key strip holds it. Text between tokens
// stays plain text; everything the learner typed goes in through textContent. One button per strip is
// a tab stop (the chosen query, or key); the arrow keys, Home and End move along the strip. A strip
// whose text starts right to left (Arabic, Hebrew) is laid out right to left.
import { isRtl } from './format.js';

// What each node of the strip shows, so that a keystroke replaces only the nodes that changed
// (usually the last token): rebuilding 64 buttons per keystroke made the page lay out all of them.
const shownAs = new WeakMap();
// Per strip: its buttons in order, and which of them are marked now, so that marking touches only
// the buttons whose marks change (a strip of 256 tokens was walked whole on every keystroke).
const buttonsOf = new WeakMap(), markedOf = new WeakMap();

function tokenButton(doc, u, i, text) {
  const b = doc.createElement('button');
  b.type = 'button';
  b.className = 'tok';
  b.dataset.i = String(i);
  b.tabIndex = -1;
  b.textContent = text;
  if (u.start === u.end) b.classList.add('special');
  if (u.unknown) { b.classList.add('unk'); b.title = 'no English word vector: uses the shared <unk> vector'; }
  else if (u.vocab && u.vocab !== u.text.toLowerCase()) b.title = `looked up as “${u.vocab}”`;
  return b;
}

/**
 * Fills `host` with `units` of `text` (a run's sentence and units, or its context and keyUnits).
 * `role` 'query' highlights focus.query (the tab stop) and, in self-attention, focus.key; 'key'
 * highlights focus.key.
 */
export function renderTokens(host, text, units, focus, { role = 'query', self = true } = {}) {
  const doc = host.ownerDocument;
  const dir = isRtl(text) ? 'rtl' : 'ltr';
  if (host.dir !== dir) host.dir = dir;
  let at = 0, k = 0;
  const buttons = [];
  const put = (key, make) => {
    let node = host.childNodes[k];
    if (!node || shownAs.get(node) !== key) {
      const old = node;
      node = make();
      shownAs.set(node, key);
      if (old) host.replaceChild(node, old); else host.append(node);
    }
    k += 1;
    return node;
  };
  const gap = (t) => put(`t${t}`, () => doc.createTextNode(t));
  units.forEach((u, i) => {
    if (u.start > at) gap(text.slice(at, u.start));
    const shown = u.start === u.end ? u.text : text.slice(u.start, u.end);
    buttons.push(put(`b${i}\u0000${shown}\u0000${u.vocab}\u0000${u.unknown}\u0000${u.start === u.end}`, () => tokenButton(doc, u, i, shown)));
    at = Math.max(at, u.end);
  });
  // Text past the last token shown (spaces, or what was left out) stays text.
  if (at < text.length) gap(text.slice(at));
  while (host.childNodes.length > k) host.lastChild.remove();
  buttonsOf.set(host, buttons);
  highlightTokens(host, focus, { role, self });
}

/** Marks the focused query and key tokens and moves the tab stop to the chosen one. */
export function highlightTokens(host, focus, { role = 'query', self = true, chosen = undefined } = {}) {
  const q = role === 'query' ? focus.query : null;
  const key = role === 'key' || self ? focus.key : null;
  const tab = chosen ?? (role === 'query' ? focus.query : focus.key) ?? 0;
  const buttons = buttonsOf.get(host) ?? [];
  const before = markedOf.get(host) ?? [];
  const now = [q, key, Math.min(tab, buttons.length - 1)];
  markedOf.set(host, now);
  for (const i of new Set([...before, ...now])) {
    const b = buttons[i];
    if (i == null || !b) continue;
    // Written only when they change: each write would invalidate the button's style.
    if (b.classList.contains('is-query') !== (i === q)) b.classList.toggle('is-query', i === q);
    if (b.classList.contains('is-key') !== (i === key)) b.classList.toggle('is-key', i === key);
    if (b.tabIndex !== (i === now[2] ? 0 : -1)) b.tabIndex = i === now[2] ? 0 : -1;
  }
}

/**
 * Click, keyboard and pointer on a strip. On the query strip a token becomes the query (and, in
 * self-attention, the key); on the key strip it becomes the key. `views` is the AttentionViews
 * that holds the state (read when the event happens: views are rebuilt when the element's `view`
 * changes).
 */
export function wireTokens(host, views, role = 'query') {
  const tokenOf = (e) => e.target.closest?.('.tok');
  const target = (i) => {
    const self = views().run?.keyUnits === views().run?.units;
    return role === 'key' ? { key: i } : self ? { query: i, key: i } : { query: i };
  };
  host.addEventListener('click', (e) => {
    const b = tokenOf(e);
    if (b) views().select(target(Number(b.dataset.i)));
  });
  host.addEventListener('keydown', (e) => {
    const b = tokenOf(e), n = host.querySelectorAll('.tok').length;
    if (!b || !n) return;
    const i = Number(b.dataset.i);
    const rtl = host.dir === 'rtl';
    const to = { ArrowLeft: rtl ? i + 1 : i - 1, ArrowRight: rtl ? i - 1 : i + 1, Home: 0, End: n - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    const chosen = Math.max(0, Math.min(n - 1, to));
    views().select(target(chosen));
    host.querySelector(`.tok[data-i="${chosen}"]`)?.focus();
  });
  host.addEventListener('pointerover', (e) => {
    const b = tokenOf(e);
    if (b) views().hover(target(Number(b.dataset.i)));
  });
  host.addEventListener('pointerleave', () => views().hover(null));
}
