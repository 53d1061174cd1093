// stdin: {"texts": [...], "vocab": [...]}  ->  stdout: [{tokens, ids, unknown, pieces}] using the
// package's tokenizer with a leading <bos>, exactly as the page does. Used by make_fixtures.py.
import { tokenize, encode } from '../../lib/tokenizer.js';

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  const { texts, vocab } = JSON.parse(input);
  const out = texts.map((text) => {
    const tokens = tokenize(text);
    return { tokens, ...encode(tokens, vocab, { bos: true }) };
  });
  process.stdout.write(JSON.stringify(out));
});
