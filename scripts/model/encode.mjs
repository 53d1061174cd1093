// stdin: {"texts": [...], "vocab": [...], "scores"?: [...]}  ->  stdout: [{tokens, ids, unknown, pieces}]
// with a leading <bos>, exactly as the package's model.encode() does: with `scores` (a unigram
// model), each word of lib/tokenizer.js cut into pieces by lib/pieces.js; without, the word
// vocabulary lookup of lib/tokenizer.js. Used by make_fixtures.py and head_patterns.py.
import { tokenize, encode } from '../../lib/tokenizer.js';
import { PieceVocabulary, encodePieces } from '../../lib/pieces.js';

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  const { texts, vocab, scores } = JSON.parse(input);
  const pieces = scores ? new PieceVocabulary(vocab, scores) : null;
  const out = texts.map((text) => {
    const tokens = tokenize(text);
    if (!pieces) return { tokens, ...encode(tokens, vocab, { bos: true }) };
    const enc = encodePieces(tokens, pieces, vocab.indexOf('<bos>'));
    return { tokens, ids: enc.map((p) => p.id), unknown: enc.map(() => false), pieces: enc };
  });
  process.stdout.write(JSON.stringify(out));
});
