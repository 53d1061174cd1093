// The token strip: the typed text with each token as a button, shared by the page and <qkv-attention>.
// Text between tokens stays plain text; everything the learner typed goes in through textContent.
// One button is a tab stop (the query); the arrow keys, Home and End move along the strip.

// What each node of the strip shows, so that a keystroke replaces only the nodes that changed
// (usually the last token): rebuilding 64 buttons per keystroke made the page lay out all of them.
const shownAs = new WeakMap();

function tokenButton(doc, u, i, text) {
  const b = doc.createElement('button');
  b.type = 'button';
  b.className = 'tok';
  b.dataset.i = String(i);
  b.textContent = text;
  if (u.start === u.end) b.classList.add('special');
  if (u.unknown) { b.classList.add('unk'); b.title = 'not in the vocabulary: uses the <unk> vector'; }
  else if (u.vocab && u.vocab !== u.text.toLowerCase()) b.title = `looked up as “${u.vocab}”`;
  return b;
}

/** Fills `host` with the tokens of `run`; `focus` ({ query, key }) is highlighted, `query` is the tab stop. */
export function renderTokens(host, run, focus, query) {
  const doc = host.ownerDocument, text = run.text;
  let at = 0, k = 0;
  const put = (key, make) => {
    const old = host.childNodes[k];
    if (!old || shownAs.get(old) !== key) {
      const node = make();
      shownAs.set(node, key);
      if (old) host.replaceChild(node, old); else host.append(node);
    }
    k += 1;
  };
  const gap = (t) => put(`t${t}`, () => doc.createTextNode(t));
  run.units.forEach((u, i) => {
    if (u.start > at) gap(text.slice(at, u.start));
    const shown = u.start === u.end ? u.text : text.slice(u.start, u.end);
    put(`b${i}\u0000${shown}\u0000${u.vocab}\u0000${u.unknown}\u0000${u.start === u.end}`, () => tokenButton(doc, u, i, shown));
    at = Math.max(at, u.end);
  });
  if (at < text.length) gap(text.slice(at));
  while (host.childNodes.length > k) host.lastChild.remove();
  highlightTokens(host, focus, query);
}

/** Marks the focused query and key tokens and moves the tab stop to `query`. */
export function highlightTokens(host, focus, query) {
  const tab = query ?? 0;
  for (const b of host.querySelectorAll('.tok')) {
    const i = Number(b.dataset.i);
    // Written only when they change: each write would invalidate the button's style.
    if (b.classList.contains('is-query') !== (i === focus.query)) b.classList.toggle('is-query', i === focus.query);
    if (b.classList.contains('is-key') !== (i === focus.key)) b.classList.toggle('is-key', i === focus.key);
    if (b.tabIndex !== (i === tab ? 0 : -1)) b.tabIndex = i === tab ? 0 : -1;
  }
}

/**
 * Click, keyboard and pointer on the strip: a token becomes the query (and the key), hovering
 * highlights it. `views` is the AttentionViews that holds the state.
 */
export function wireTokens(host, views) {
  const tokenOf = (e) => e.target.closest?.('.tok');
  host.addEventListener('click', (e) => {
    const b = tokenOf(e);
    if (b) views.select({ query: Number(b.dataset.i), key: Number(b.dataset.i) });
  });
  host.addEventListener('keydown', (e) => {
    const b = tokenOf(e), n = views.run?.n;
    if (!b || !n) return;
    const i = Number(b.dataset.i);
    const to = { ArrowLeft: i - 1, ArrowRight: i + 1, Home: 0, End: n - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    const chosen = Math.max(0, Math.min(n - 1, to));
    views.select({ query: chosen, key: chosen });
    host.querySelector(`.tok[data-i="${chosen}"]`)?.focus();
  });
  host.addEventListener('pointerover', (e) => {
    const b = tokenOf(e);
    if (b) views.hover({ query: Number(b.dataset.i), key: Number(b.dataset.i) });
  });
  host.addEventListener('pointerleave', () => views.hover(null));
}
