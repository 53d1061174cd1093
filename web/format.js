// How numbers and token labels are written everywhere on the page (one place, so tests can rely on it).

export const fmt = {
  score: (x) => (x === -Infinity ? '−∞' : x.toFixed(3).replace('-', '−')),
  weight: (x) => x.toFixed(4),
  exp: (x) => x.toFixed(4),
  vec: (x) => x.toFixed(2).replace('-', '−'),
};

/** A token's text for a label: whitespace folded, long words cut with an ellipsis. */
export function label(unit, max = 14) {
  const t = unit.text.replace(/\s+/g, ' ');
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** The line shown while the trained model downloads; `fraction` is null while the size is unknown. */
export function modelLoadingText(fraction) {
  return fraction != null ? `Loading the trained model… ${Math.round(fraction * 100)} %` : 'Loading the trained model…';
}
