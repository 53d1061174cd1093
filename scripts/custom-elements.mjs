// Writes custom-elements.json, the manifest of <qkv-attention> (schema 2.1.0 of
// webcomponents/custom-elements-manifest) that editors and documentation tools read. Run by
// scripts/build.sh (a generated file: not committed, shipped in the package). The attributes come from the element's own list
// (web/attributes.js: what it observes), their values, defaults and meanings from the README's table
// ("Embedding in a course"): an attribute missing from either side fails the build, so the manifest,
// the README and the element cannot drift apart.
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
        members: [
          { kind: 'field', name: 'ready', readonly: true, type: { text: 'Promise<void>' }, description: 'Resolves once the element has drawn its first views (or shown why it cannot).' },
          { kind: 'field', name: 'run', readonly: true, type: { text: 'QkvRun | null' }, description: 'Every number shown: tokens, and per layer and head q, k, v, scores, logits, weights, output.' },
          { kind: 'field', name: 'selection', readonly: true, type: { text: 'QkvSelection' }, description: 'The chosen layer, head, query and key (from 0) and the sentence.' },
        ],
        events: [{ name: 'qkv-select', type: { text: 'CustomEvent<QkvSelection>' }, description: 'The learner chose a query or key (bubbles, composed); detail is the selection.' }],
        cssParts: [{ name: 'frame', description: 'The element\'s frame around its views.' }],
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
