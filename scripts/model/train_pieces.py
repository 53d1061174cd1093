"""Train the model's subword vocabulary: a SentencePiece unigram model over the corpus's words as
lib/tokenizer.js cuts them (prepare_data.mjs writes them, one line of norms joined by spaces), with
byte fallback so that no character is ever unknown. Writes the vocabulary and each piece's
log-probability as JSON; lib/pieces.js segments with them, in training and in the browser alike.

usage: python3 train_pieces.py --input work/data/words.txt --vocab-size 4096 --out work/data/pieces.json
Debian: python3-sentencepiece (SentencePiece 0.1.97).
"""
import argparse
import json
import os
import tempfile

import sentencepiece as spm


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--vocab-size", type=int, default=4096)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed-sentences", type=int, default=2000000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "pieces")
        spm.SentencePieceTrainer.train(
            input=args.input, model_prefix=prefix, model_type="unigram", vocab_size=args.vocab_size,
            # ids 0 and 1 are the model's <bos> and <unk>; then the 256 byte pieces; no </s>
            bos_id=0, unk_id=1, eos_id=-1, pad_id=-1, bos_piece="<bos>", unk_piece="<unk>",
            byte_fallback=True, character_coverage=0.9995, split_digits=True,
            # lib/tokenizer.js has normalised the text (NFC, lowercase, quotes): change nothing more
            normalization_rule_name="identity", input_sentence_size=args.seed_sentences,
            shuffle_input_sentence=True, num_threads=1, minloglevel=1)
        sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
        vocab = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
        scores = [0.0 if (sp.is_control(i) or sp.is_unknown(i) or sp.is_byte(i)) else sp.get_score(i)
                  for i in range(sp.get_piece_size())]
        with open(prefix + ".model", "rb") as f:
            model_bytes = f.read()
    assert vocab[0] == "<bos>" and vocab[1] == "<unk>" and vocab[2] == "<0x00>" and vocab[257] == "<0xFF>", vocab[:4]
    with open(args.out, "w") as f:
        json.dump({"type": "unigram", "vocab": vocab, "scores": scores}, f, ensure_ascii=False)
    with open(os.path.splitext(args.out)[0] + ".model", "wb") as f:
        f.write(model_bytes)  # for the equality test against SentencePiece itself
    print("pieces: %d entries (%d byte pieces), written to %s" % (len(vocab), sum(v.startswith("<0x") for v in vocab), args.out))


if __name__ == "__main__":
    main()
