// Until models/tiny-lm.qkv is committed, the model-mode tests (and bench:page) run on a stand-in: a
// random model in the same format and of the same shape as the one being trained (5,000 words,
// d_model 100, 3 layers × 4 heads, d_ff 256, 256 positions), whose vocabulary is the GloVe table's
// most frequent words, served at the same URL. Its weights are f32, so its size is not the real one's.
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
  const vocab = ['<bos>', '<unk>', ...vocabulary.filter((w) => !/^<[a-z]+>$/.test(w)).slice(0, 4998)];
  const file = join(mkdtempSync(join(tmpdir(), 'qkv-model-')), 'tiny-lm.qkv');
  writeFileSync(file, writeQkv(randomModel(rng(7), { vocab, d: 100, layers: 3, heads: 4, ff: 256, positions: 256 })));
  return [['/models/tiny-lm.qkv', file]];
}
