// Lessons for <qkv-attention>: an author's JSON list of steps, each with a caption and what the step
// shows. Read strictly (a lesson that fails says which step and which field, and what it expected),
// because an author finds a typo only if the widget says so. Captions are plain text with a small
// markup subset, rendered by building DOM nodes: nothing in a lesson is ever parsed as HTML or run.
//
//   { "title": "…", "steps": [ { "caption": "…", "sentence": "…", "view": "heatmap step", … }, … ] }
//
// A step keeps what the steps before it set and changes what it names (its caption and stage are its
// own); the first step starts from the element's attributes.
import { STAGES, VIEW_NAMES, placeOf } from './attributes.js';
import { HEAD_CHOICES, MAX_TEXT } from './compute.js';
import { PATTERNS } from './heads.js';

export class LessonError extends Error {
  constructor(message) { super(message); this.name = 'LessonError'; }
}

const describe = (v) => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : typeof v === 'object' ? 'an object' : String(v));

const position = (what) => (v) => {
  if (Number.isInteger(v) && v >= 1 && v <= 4096) return v - 1;
  throw new Error(`must be ${what}, received ${describe(v)}`);
};
// A position, "@12" (the token at character 12 of the text: the same word in either source), or a word.
const token = (v) => {
  const at = typeof v === 'string' ? placeOf(v) : null;
  if (at) return at;
  if (typeof v === 'string' && v.trim() !== '' && v.length <= 100) return v.trim();
  return position('a position from 1, "@" and a character offset, or a word of the sentence')(v);
};
const boolean = (v) => {
  if (typeof v === 'boolean') return v;
  throw new Error(`must be true or false, received ${describe(v)}`);
};
const text = (max) => (v) => {
  if (typeof v === 'string' && v.length <= max) return v;
  throw new Error(typeof v === 'string' ? `must be at most ${max.toLocaleString('en')} characters, has ${v.length.toLocaleString('en')}` : `must be text, received ${describe(v)}`);
};

/** Every field a step may have: how it is read (throwing a message that says what was expected). */
export const STEP_FIELDS = {
  caption: text(4000),
  sentence: text(MAX_TEXT),
  // null switches the second text off (self-attention again).
  context: (v) => (v === null ? null : text(MAX_TEXT)(v)),
  mode: (v) => {
    if (v === 'embeddings' || v === 'model') return v;
    throw new Error(`must be "embeddings" or "model", received ${describe(v)}`);
  },
  layer: position('a layer number from 1'),
  head: (v) => {
    if (typeof v === 'string' && Object.hasOwn(PATTERNS, v)) return v;
    return position(`a head number from 1 or one of ${Object.keys(PATTERNS).map((p) => `"${p}"`).join(', ')}`)(v);
  },
  heads: (v) => {
    if (HEAD_CHOICES.includes(v)) return v;
    throw new Error(`must be one of ${HEAD_CHOICES.join(', ')}, received ${describe(v)}`);
  },
  view: (v) => {
    const names = typeof v === 'string' ? v.split(/[\s,]+/).filter(Boolean) : v;
    if (Array.isArray(names) && names.length > 0 && names.every((name) => VIEW_NAMES.includes(name))) return [...new Set(names)];
    throw new Error(`must name views among ${VIEW_NAMES.join(', ')} (a text or a list), received ${describe(v)}`);
  },
  query: token,
  key: token,
  causal: boolean,
  scaling: boolean,
  temperature: (v) => {
    if (typeof v === 'number' && v >= 0.05 && v <= 20) return v;
    throw new Error(`must be a number from 0.05 to 20, received ${describe(v)}`);
  },
  stage: (v) => {
    if (v === null || (typeof v === 'string' && Object.hasOwn(STAGES, v))) return v;
    throw new Error(`must be one of ${Object.keys(STAGES).map((s) => `"${s}"`).join(', ')} (or null), received ${describe(v)}`);
  },
};

// Edit distance, for "did you mean" (field names are short).
function distance(a, b) {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; ++i) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; ++j) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

function unknownField(name, known) {
  const near = known.map((k) => [k, distance(name.toLowerCase(), k.toLowerCase())]).sort((x, y) => x[1] - y[1])[0];
  return `unknown field "${name}"${near && near[1] <= 2 ? ` (did you mean "${near[0]}"?)` : ''}`;
}

/**
 * Reads a lesson (JSON text or the parsed object) into { title, steps }, each step the settings it
 * names (positions from 0) plus its caption and stage. Throws a LessonError naming the step (from 1)
 * and the field that is wrong.
 */
export function parseLesson(input, where = 'lesson') {
  let lesson = input;
  if (typeof input === 'string') {
    try {
      lesson = JSON.parse(input);
    } catch (error) {
      throw new LessonError(`${where}: not valid JSON (${error.message})`);
    }
  }
  if (lesson === null || typeof lesson !== 'object' || Array.isArray(lesson)) throw new LessonError(`${where}: must be an object with "title" and "steps", received ${describe(lesson)}`);
  for (const name of Object.keys(lesson)) {
    if (!['title', 'description', 'steps'].includes(name)) throw new LessonError(`${where}: ${unknownField(name, ['title', 'description', 'steps'])}`);
  }
  if (lesson.title !== undefined && typeof lesson.title !== 'string') throw new LessonError(`${where}: "title" must be text, received ${describe(lesson.title)}`);
  if (!Array.isArray(lesson.steps) || lesson.steps.length === 0 || lesson.steps.length > 200) {
    throw new LessonError(`${where}: "steps" must be a list of 1 to 200 steps, received ${describe(lesson.steps)}`);
  }
  const steps = lesson.steps.map((step, index) => {
    const at = `${where}, step ${index + 1}`;
    if (step === null || typeof step !== 'object' || Array.isArray(step)) throw new LessonError(`${at}: must be an object with a "caption", received ${describe(step)}`);
    if (!('caption' in step)) throw new LessonError(`${at}: "caption" is missing (every step says something)`);
    const out = {};
    for (const [name, value] of Object.entries(step)) {
      const read = STEP_FIELDS[name];
      if (!read) throw new LessonError(`${at}: ${unknownField(name, Object.keys(STEP_FIELDS))}`);
      try {
        out[name] = read(value);
      } catch (error) {
        throw new LessonError(`${at}: "${name}" ${error.message}`);
      }
    }
    return out;
  });
  return { title: lesson.title ?? '', steps };
}

/**
 * The settings in force at step `index`: every earlier step's, overridden by this one's; caption and
 * stage are the step's own.
 */
export function settingsAt(lesson, index) {
  const settings = {};
  for (let k = 0; k <= index; ++k) {
    const { caption, stage, ...rest } = lesson.steps[k];
    Object.assign(settings, rest);
  }
  const { caption, stage = null } = lesson.steps[index];
  return { settings, caption, stage };
}

// ---- captions ---------------------------------------------------------------------------------------
// The markup a caption may use: **strong**, *emphasis*, `code`, x_{sub}, x^{sup}; a blank line starts
// a new paragraph and a line break is kept. Anything else is text, shown as typed.
const INLINE = /\*\*([^*\n]+?)\*\*|\*([^*\s][^*\n]*?)\*|`([^`\n]+)`|_\{([^}\n]*)\}|\^\{([^}\n]*)\}/g;

/** A caption as DOM nodes of `doc`: paragraphs of text and the subset above, built node by node. */
export function renderCaption(doc, caption) {
  const fragment = doc.createDocumentFragment();
  for (const paragraph of caption.split(/\n\s*\n/)) {
    if (paragraph.trim() === '') continue;
    const p = doc.createElement('p');
    paragraph.trim().split('\n').forEach((line, i) => {
      if (i > 0) p.append(doc.createElement('br'));
      let at = 0;
      for (const m of line.matchAll(INLINE)) {
        if (m.index > at) p.append(doc.createTextNode(line.slice(at, m.index)));
        const [tag, content] = m[1] != null ? ['strong', m[1]] : m[2] != null ? ['em', m[2]] : m[3] != null ? ['code', m[3]] : m[4] != null ? ['sub', m[4]] : ['sup', m[5]];
        const node = doc.createElement(tag);
        node.textContent = content;
        p.append(node);
        at = m.index + m[0].length;
      }
      if (at < line.length) p.append(doc.createTextNode(line.slice(at)));
    });
    fragment.append(p);
  }
  return fragment;
}
