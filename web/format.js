// How numbers and token labels are written everywhere on the page (one place, so tests can rely on it).

export const fmt = {
  score: (x) => (x === -Infinity ? '−∞' : x.toFixed(3).replace('-', '−')),
  weight: (x) => x.toFixed(4),
  exp: (x) => x.toFixed(4),
  vec: (x) => x.toFixed(2).replace('-', '−'),
};

const SUBSCRIPT = '₀₁₂₃₄₅₆₇₈₉';
const subscript = (k) => String(k).replace(/\d/g, (d) => SUBSCRIPT[d]);

/**
 * A token's own text: what was typed (whitespace folded), and for a byte of a character the model
 * spells in bytes, which byte it is (東₁ 東₂ 東₃).
 */
export function unitText(unit) {
  const t = unit.text.replace(/\s+/g, ' ');
  return unit.byte && unit.byte[1] > 1 ? `${t}${subscript(unit.byte[0])}` : t;
}

/**
 * A token's text for a label: its own text, long words cut with an ellipsis, and "·" on the side
 * where a piece of the same word joins it ("home·" and "·work" are the word "homework").
 */
export function label(unit, max = 14) {
  const t = unitText(unit);
  const text = t.length > max ? `${t.slice(0, max - 1)}…` : t;
  return `${unit.joinBefore ? '·' : ''}${text}${unit.joinAfter ? '·' : ''}`;
}

// The first strongly directional character: a right-to-left letter (Hebrew, Arabic, Syriac, Thaana,
// N'Ko and their presentation forms) or any other letter. What dir="auto" looks at.
const STRONG = /[\p{sc=Hebrew}\p{sc=Arabic}\p{sc=Syriac}\p{sc=Thaana}\p{sc=Nko}]|\p{L}/u;
const RTL = /[\p{sc=Hebrew}\p{sc=Arabic}\p{sc=Syriac}\p{sc=Thaana}\p{sc=Nko}]/u;

/** Whether `text` reads right to left: its first strong character is a right-to-left letter. */
export function isRtl(text) {
  const m = STRONG.exec(text);
  return m !== null && RTL.test(m[0]);
}

/** The line shown while the trained model downloads; `fraction` is null while the size is unknown. */
export function modelLoadingText(fraction) {
  return fraction != null ? `Loading the trained model… ${Math.round(fraction * 100)} %` : 'Loading the trained model…';
}

/** A whole number with thousands separated by commas (toLocaleString costs ~0.2 ms a call). */
export function thousands(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ','); }

/** A count with its noun: 1 token, 2 tokens. */
export function count(n, noun, plural = `${noun}s`) {
  return `${thousands(n)} ${n === 1 ? noun : plural}`;
}
