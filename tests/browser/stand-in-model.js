// Until models/tiny-lm.qkv is committed, the model-mode tests run on a stand-in: a random model in
// the same format whose vocabulary is the GloVe table's most frequent words, served at the same URL.
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeQkv, randomModel } from '../js/qkv-writer.js';
import { rng } from '../js/reference.js';

export const REAL_MODEL = fileURLToPath(new URL('../../models/tiny-lm.qkv', import.meta.url));

/** [prefix, path] mounts that serve a model at /models/tiny-lm.qkv: none when the real one exists. */
export function modelMounts(vocabulary) {
  if (existsSync(REAL_MODEL)) return [];
  const vocab = ['<bos>', '<unk>', ...vocabulary.filter((w) => !/^<[a-z]+>$/.test(w)).slice(0, 3000)];
  const file = join(mkdtempSync(join(tmpdir(), 'qkv-model-')), 'tiny-lm.qkv');
  writeFileSync(file, writeQkv(randomModel(rng(7), { vocab, d: 32, layers: 2, heads: 4, ff: 64, positions: 300 })));
  return [['/models/tiny-lm.qkv', file]];
}
