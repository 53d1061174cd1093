// The token strips of <qkv-attention>: the typed text with each token as a button. The query strip
// holds the sentence; with a second text (cross-attention) a key strip holds it. Text between tokens
// stays plain text; everything the learner typed goes in through textContent. One button per strip is
// a tab stop (the chosen query, or key); the arrow keys, Home and End move along the strip. A strip
// whose text starts right to left (Arabic, Hebrew) is laid out right to left.
import { isRtl, unitText, thousands } from './format.js';

// What each node of the strip shows, so that a keystroke replaces only the nodes that changed
// (usually the last token): rebuilding 64 buttons per keystroke made the page lay out all of them.
const shownAs = new WeakMap();
// Per strip: its buttons in order, and which of them are marked now, so that marking touches only
// the buttons whose marks change (a strip of 256 tokens was walked whole on every keystroke).
const buttonsOf = new WeakMap(), markedOf = new WeakMap();

/** What a learner reads on hovering a token: how it was read. `part`: [k, count, word] in a word of several pieces. */
export function tokenTitle(u, part = null) {
  const lines = [];
  if (u.byte && u.byte[1] > 1) lines.push(`byte ${u.byte[0]} of ${u.byte[1]} of “${u.text}”: the model has no piece for this character, so it reads its UTF-8 bytes`);
  else if (part) lines.push(`piece ${part[0]} of ${part[1]} of the word “${part[2]}”`);
  if (u.vocab === '\u2581') lines.push('▁ marks the start of a word');
  if (u.estimated) lines.push('not among the GloVe words: its vector is estimated from the pieces of the word');
  else if (u.unknown) lines.push('no English word vector: uses the shared <unk> vector');
  else if (!part && !u.byte && u.vocab && u.start !== u.end && u.vocab !== u.text.toLowerCase()) lines.push(`looked up as “${u.vocab}”`);
  return lines.join('\n');
}

function tokenButton(doc, u, i, text, part) {
  const b = doc.createElement('button');
  b.type = 'button';
  b.className = 'tok';
  b.dataset.i = String(i);
  b.tabIndex = -1;
  b.textContent = text;
  if (u.start === u.end) b.classList.add('special');
  if (u.unknown) b.classList.add('unk');
  if (u.estimated) b.classList.add('estimated');
  if (u.joinBefore) b.classList.add('join-before');
  if (u.joinAfter) b.classList.add('join-after');
  const title = tokenTitle(u, part);
  if (title) b.title = title;
  return b;
}

// The "·" between two pieces of one word: seen, not read (each piece's title says where it is).
function joinMark(doc) {
  const j = doc.createElement('span');
  j.className = 'join';
  j.textContent = '·';
  j.setAttribute('aria-hidden', 'true');
  return j;
}

function leftOutMark(doc, leftOut) {
  const m = doc.createElement('span');
  m.className = 'left-out';
  m.textContent = `+${thousands(leftOut)} left out`;
  m.title = `${thousands(leftOut)} more tokens are not computed: see the status line`;
  return m;
}

/**
 * Fills `host` with `units` of `text` (a run's sentence and units, or its context and keyUnits).
 * `role` 'query' highlights focus.query (the tab stop) and, in self-attention, focus.key; 'key'
 * highlights focus.key.
 */
export function renderTokens(host, text, units, focus, { role = 'query', self = true, leftOut = 0 } = {}) {
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
  let first = 0; // the first piece of the current word
  units.forEach((u, i) => {
    if (u.start > at) gap(text.slice(at, u.start));
    if (u.joinBefore) put('j', () => joinMark(doc)); else first = i;
    let part = null;
    if (u.joinBefore || u.joinAfter) {
      let last = i;
      while (units[last + 1]?.joinBefore) last += 1;
      part = [i - first + 1, last - first + 1, text.slice(units[first].start, units[last].end)];
    }
    const shown = unitText(u);
    const key = `b${i}\u0000${shown}\u0000${u.vocab}\u0000${u.unknown}\u0000${u.estimated}\u0000${u.start === u.end}\u0000${part}`;
    buttons.push(put(key, () => tokenButton(doc, u, i, shown, part)));
    at = Math.max(at, u.end);
  });
  if (leftOut > 0) put(`l${leftOut}`, () => leftOutMark(doc, leftOut));
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
