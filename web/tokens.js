// The token strip: the typed text with each token as a button, shared by the page and <qkv-attention>.
// Text between tokens stays plain text; everything the learner typed goes in through textContent.
// One button is a tab stop (the query); the arrow keys, Home and End move along the strip.

/** Fills `host` with the tokens of `run`; `focus` ({ query, key }) is highlighted, `query` is the tab stop. */
export function renderTokens(host, run, focus, query) {
  const doc = host.ownerDocument, text = run.text, parts = [];
  let at = 0;
  run.units.forEach((u, i) => {
    if (u.start > at) parts.push(doc.createTextNode(text.slice(at, u.start)));
    const b = doc.createElement('button');
    b.type = 'button';
    b.className = 'tok';
    b.dataset.i = String(i);
    b.textContent = u.start === u.end ? u.text : text.slice(u.start, u.end);
    if (u.start === u.end) b.classList.add('special');
    if (u.unknown) { b.classList.add('unk'); b.title = 'not in the vocabulary: uses the <unk> vector'; }
    else if (u.vocab && u.vocab !== u.text.toLowerCase()) b.title = `looked up as “${u.vocab}”`;
    parts.push(b);
    at = Math.max(at, u.end);
  });
  if (at < text.length) parts.push(doc.createTextNode(text.slice(at)));
  host.replaceChildren(...parts);
  highlightTokens(host, focus, query);
}

/** Marks the focused query and key tokens and moves the tab stop to `query`. */
export function highlightTokens(host, focus, query) {
  for (const b of host.querySelectorAll('.tok')) {
    const i = Number(b.dataset.i);
    b.classList.toggle('is-query', i === focus.query);
    b.classList.toggle('is-key', i === focus.key);
    b.tabIndex = i === (query ?? 0) ? 0 : -1;
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
