// Writes custom-elements.json, the manifest of <qkv-attention> (schema 2.1.0 of
// webcomponents/custom-elements-manifest) that editors and documentation tools read. Run by
// scripts/build.sh (a generated file: not committed, shipped in the package). The attributes come from the element's own list
// (web/attributes.js: what it observes), their values, defaults and meanings from the README's table
// ("Embedding in a course"): an attribute missing from either side fails the build, so the manifest,
// the README and the element cannot drift apart. Its properties, methods and events come from the
// element's declarations (web/qkv-attention-element.d.ts: the class and QkvAttentionEventMap, each
// name with its TSDoc); the package test checks in Chromium that the element has every one.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ATTRIBUTES } from '../web/attributes.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}custom-elements.json`;

// The README's attribute table: rows of | `name` | values | default | meaning |, after its header.
function readmeAttributes() {
  const lines = readFileSync(`${root}README.md`, 'utf8').split('\n');
  const header = lines.findIndex((l) => /^\| attribute \/ parameter \| values \| default \| meaning \|/.test(l));
  if (header < 0) throw new Error('README.md: the attribute table ("| attribute / parameter | values | default | meaning |") is missing');
  const rows = new Map();
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const [name, values, fallback, meaning] = line.split('|').slice(1, -1).map((c) => c.trim());
    rows.set(name.replace(/`/g, ''), { values, fallback, meaning });
  }
  return rows;
}

const plain = (text) => text.replace(/`/g, '');

// `/** doc */` followed by one declaration line, for every line of `body` that follows a doc comment.
function documented(body) {
  const found = [];
  for (const m of body.matchAll(/\/\*\*([\s\S]*?)\*\/\s*\n\s*([^\n]+)/g)) {
    const doc = m[1].split('\n').map((l) => l.replace(/^\s*\*\s?/, '').trim()).filter(Boolean).join(' ');
    found.push({ doc, line: m[2].trim() });
  }
  return found;
}

function block(text, opening) {
  const start = text.indexOf(opening);
  if (start < 0) throw new Error(`web/qkv-attention-element.d.ts: "${opening}" is missing`);
  return text.slice(start + opening.length, text.indexOf('\n}', start));
}

// 'a: string, b?: { c: number; d: string }' → [{ name: 'a', type }, { name: 'b', optional, type }]: split at
// the commas outside brackets.
function parameters(list) {
  const parts = [];
  let depth = 0, at = 0;
  for (let i = 0; i <= list.length; ++i) {
    const c = list[i];
    if (c === '{' || c === '(' || c === '[' || c === '<') ++depth;
    else if (c === '}' || c === ')' || c === ']' || (c === '>' && list[i - 1] !== '=')) --depth;
    else if ((c === ',' && depth === 0) || i === list.length) {
      const part = list.slice(at, i).trim();
      if (part) parts.push(part);
      at = i + 1;
    }
  }
  return parts.map((part) => {
    const m = part.match(/^(\w+)(\?)?:\s*([\s\S]+)$/);
    if (!m) throw new Error(`web/qkv-attention-element.d.ts: cannot read the parameter "${part}"`);
    return { name: m[1], ...(m[2] ? { optional: true } : {}), type: { text: m[3] } };
  });
}

/** The element's public properties, methods and events, as its declarations give them. */
export function declaredApi() {
  const dts = readFileSync(`${root}web/qkv-attention-element.d.ts`, 'utf8');
  const members = [];
  for (const { doc, line } of documented(block(dts, 'export declare class QkvAttentionElement extends HTMLElement {'))) {
    if (line.startsWith('static ')) continue;
    const field = line.match(/^(readonly\s+)?(\w+)\??:\s*(.+);$/);
    const method = line.match(/^(\w+)\((.*)\):\s*(.+);$/);
    if (field) members.push({ kind: 'field', name: field[2], ...(field[1] ? { readonly: true } : {}), type: { text: field[3] }, description: doc });
    else if (method) members.push({ kind: 'method', name: method[1], parameters: parameters(method[2]), return: { type: { text: method[3] } }, description: doc });
    else throw new Error(`web/qkv-attention-element.d.ts: cannot read the member "${line}"`);
  }
  const events = documented(block(dts, 'export interface QkvAttentionEventMap {')).map(({ doc, line }) => {
    const m = line.match(/^'([\w-]+)':\s*(.+);$/);
    if (!m) throw new Error(`web/qkv-attention-element.d.ts: cannot read the event "${line}"`);
    return { name: m[1], type: { text: m[2] }, description: `${doc} (bubbles, composed)` };
  });
  return { members, events };
}

// The shadow root's parts and slots (what a page styles and fills in; the demo page does both). The
// package test finds each in the element's shadow root.
export const PARTS = [
  ['frame', 'The element\'s frame around everything it shows.'],
  ['lesson', 'The lesson bar: title, step counter, caption, Back and Next.'],
  ['input', 'The text boxes, the token strips, the status line.'],
  ['views', 'The views, one section each.'],
  ['view', 'Each view\'s section (also view-heatmap, view-lines, view-overview, view-next, view-step).'],
  ['view-title', 'Each view\'s heading.'],
];
export const SLOTS = [
  ['controls', 'Between the text and the views: the demo page puts its knobs here.'],
  ['heatmap', 'Under the heatmap (also lines, overview, next, step: under that view).'],
  ['views', 'After the views.'],
];

export function manifest() {
  const rows = readmeAttributes();
  const names = Object.keys(ATTRIBUTES);
  const undocumented = names.filter((n) => !rows.has(n));
  const unknown = [...rows.keys()].filter((n) => !names.includes(n));
  if (undocumented.length || unknown.length) {
    throw new Error(`custom-elements.json: web/attributes.js and the README's attribute table differ: ` +
      `${undocumented.length ? `not in the README: ${undocumented.join(', ')}` : ''}${undocumented.length && unknown.length ? '; ' : ''}` +
      `${unknown.length ? `not observed by the element: ${unknown.join(', ')}` : ''}`);
  }
  const module = 'web/qkv-attention-element.js';
  const { members, events } = declaredApi();
  return {
    schemaVersion: '2.1.0',
    readme: 'README.md',
    modules: [{
      kind: 'javascript-module',
      path: module,
      declarations: [{
        kind: 'class',
        name: 'QkvAttentionElement',
        tagName: 'qkv-attention',
        customElement: true,
        superclass: { name: 'HTMLElement' },
        summary: 'Attention over a sentence, computed in the browser and drawn: heatmap, lines, all heads, step by step.',
        description: 'Importing the module defines <qkv-attention>. Attributes are read again whenever they change; ' +
          'a value that cannot be read falls back to its default.',
        attributes: names.map((name) => {
          const { values, fallback, meaning } = rows.get(name);
          return { name, type: { text: 'string' }, default: plain(fallback), description: `${plain(meaning)} (values: ${plain(values)})` };
        }),
        members,
        events,
        cssParts: PARTS.map(([name, description]) => ({ name, description })),
        slots: SLOTS.map(([name, description]) => ({ name, description })),
      }],
      exports: [
        { kind: 'js', name: 'QkvAttentionElement', declaration: { name: 'QkvAttentionElement', module } },
        { kind: 'custom-element-definition', name: 'qkv-attention', declaration: { name: 'QkvAttentionElement', module } },
      ],
    }],
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = `${JSON.stringify(manifest(), null, 2)}\n`;
  if (!existsSync(out) || readFileSync(out, 'utf8') !== text) writeFileSync(out, text);
}
