"""Train the tiny causal LM on the prepared corpus (prepare_data.mjs) with a wall-clock budget,
keeping the checkpoint with the best validation loss.

usage: python3 train.py [--minutes 55] [--layers 2] [--d-ff 256] [--seed 1234] [--init ckpt.pt] [--smoke]
--smoke: tiny model on the first 30k training tokens for <= 45 s; exits 1 unless the loss falls.
Writes only under scripts/model/work/ (and the log given by --log), never models/*.qkv.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import TinyLM  # noqa: E402
from qkv import read_qkv  # noqa: E402


def load_split(data_dir, name):
    ids = np.fromfile(os.path.join(data_dir, name + ".ids.u16"), dtype="<u2").astype(np.int64)
    starts = np.fromfile(os.path.join(data_dir, name + ".starts.u32"), dtype="<u4").astype(np.int64)
    return ids, starts


def val_windows(ids, T, bos_id):
    """The validation stream cut into consecutive chunks of T-1 tokens, each after a <bos>."""
    n = T - 1
    out = []
    for s in range(0, len(ids) - 1, n):
        chunk = ids[s:s + n]
        if len(chunk) >= 2:
            out.append(np.concatenate([[bos_id], chunk]))
    return out


@torch.no_grad()
def evaluate(model, windows, batch=16):
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(windows), batch):
        group = windows[i:i + batch]
        T = max(len(w) for w in group)
        x = torch.zeros(len(group), T, dtype=torch.long)
        y = torch.full((len(group), T), -100, dtype=torch.long)
        for j, w in enumerate(group):
            x[j, :len(w)] = torch.as_tensor(w)
            y[j, :len(w) - 1] = torch.as_tensor(w[1:])
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=-100,
                               reduction="sum")
        total += loss.item()
        count += (y != -100).sum().item()
    model.train()
    return total / count


def unigram_ppl(train_ids, val_ids, V):
    counts = np.bincount(train_ids, minlength=V).astype(np.float64) + 1.0
    p = counts / counts.sum()
    return float(np.exp(-np.mean(np.log(p[val_ids]))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(HERE, "work", "data"))
    ap.add_argument("--glove", default=os.path.join(HERE, "..", "..", "models", "glove-10k.qkv"))
    ap.add_argument("--out", default=os.path.join(HERE, "work", "ckpt.pt"))
    ap.add_argument("--log", default=None)
    ap.add_argument("--minutes", type=float, default=55.0)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--d-model", type=int, default=100)
    ap.add_argument("--d-ff", type=int, default=256)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--eval-every", type=float, default=150.0, help="seconds")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--init", default=None,
                    help="start from this checkpoint's weights (a second phase with a fresh schedule)")
    args = ap.parse_args()
    if args.smoke:
        args.minutes, args.layers, args.d_ff, args.seq, args.batch = 0.6, 1, 64, 64, 16
        args.eval_every, args.warmup, args.lr = 10.0, 20, 3e-3
        args.out = os.path.join(HERE, "work", "smoke-ckpt.pt")

    log_f = open(args.log, "a") if args.log else None

    def log(msg):
        line = "[%s] %s" % (time.strftime("%H:%M:%S"), msg)
        print(line, flush=True)
        if log_f:
            log_f.write(line + "\n")
            log_f.flush()

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)

    with open(os.path.join(args.data, "vocab.json")) as f:
        vocab = json.load(f)
    V = len(vocab)
    bos_id, unk_id = vocab.index("<bos>"), vocab.index("<unk>")
    train_ids, train_starts = load_split(args.data, "train")
    val_ids, _ = load_split(args.data, "val")
    if args.smoke:
        train_ids, train_starts = train_ids[:30000], train_starts[train_starts < 30000 - args.seq]
        val_ids = val_ids[:3000]
    windows = val_windows(val_ids, args.seq, bos_id)

    model = TinyLM(V, args.d_model, args.layers, args.heads, args.d_ff, args.seq if args.smoke else 256)
    glove_hits = 0
    if os.path.exists(args.glove) and not args.smoke and not args.init:  # --init brings its own
        header, t = read_qkv(args.glove)
        gidx = {w: i for i, w in enumerate(header["vocab"])}
        g = t["vectors"]
        scale = 0.1 / g.std()
        with torch.no_grad():
            for i, w in enumerate(vocab):
                if w in gidx and not w.startswith("<"):
                    model.tok_emb[i] = torch.as_tensor(g[gidx[w]] * scale, dtype=torch.float32)
                    glove_hits += 1
    n_params = sum(p.numel() for p in model.parameters())
    log("config %s params %d vocab %d glove-initialised rows %d train tokens %d val tokens %d seed %d"
        % (json.dumps(model.config), n_params, V, glove_hits, len(train_ids), len(val_ids), args.seed))
    if args.init:
        init = torch.load(args.init)
        assert init["config"] == model.config, "--init: the checkpoint's config differs from this model's"
        model.load_state_dict(init["model"])
        log("initialised from %s (step %d, %d tokens, val loss %.4f)"
            % (args.init, init["step"], init["tokens"], init["val_loss"]))
    uni = unigram_ppl(train_ids, val_ids, V)
    log("unigram baseline validation perplexity %.1f" % uni)

    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.98))
    budget = args.minutes * 60.0
    t0 = time.time()
    last_eval = t0
    best = float("inf")
    first_loss = None
    step = 0
    seen = 0
    ema = None
    rng = np.random.default_rng(args.seed)
    n_body = args.seq - 1
    valid_starts = train_starts[train_starts + n_body <= len(train_ids)]
    while True:
        elapsed = time.time() - t0
        if elapsed >= budget:
            break
        frac = elapsed / budget
        lr = args.lr * min(1.0, (step + 1) / args.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        for gr in opt.param_groups:
            gr["lr"] = lr
        starts = rng.choice(valid_starts, size=args.batch)
        x = np.empty((args.batch, args.seq), dtype=np.int64)
        x[:, 0] = bos_id
        for j, s in enumerate(starts):
            x[j, 1:] = train_ids[s:s + n_body]
        x = torch.as_tensor(x)
        logits = model(x[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, V), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        seen += args.batch * n_body
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        if first_loss is None:
            first_loss = loss.item()
        if step % (10 if args.smoke else 50) == 0:
            log("step %d tokens %d lr %.2e train loss %.3f (ema %.3f) %.0f tok/s"
                % (step, seen, lr, loss.item(), ema, seen / (time.time() - t0)))
        now = time.time()
        if now - last_eval >= args.eval_every or now - t0 >= budget:
            last_eval = now
            vl = evaluate(model, windows)
            mark = ""
            if vl < best:
                best = vl
                torch.save({"model": model.state_dict(), "config": model.config, "vocab": vocab,
                            "step": step, "tokens": seen, "val_loss": vl, "seed": args.seed,
                            "elapsed_s": now - t0, "args": vars(args), "unigram_ppl": uni}, args.out)
                mark = " (best, saved)"
            log("eval step %d elapsed %.0fs val loss %.4f ppl %.1f%s" % (step, now - t0, vl, math.exp(vl), mark))
    vl = evaluate(model, windows)
    if vl < best:
        best = vl
        torch.save({"model": model.state_dict(), "config": model.config, "vocab": vocab, "step": step,
                    "tokens": seen, "val_loss": vl, "seed": args.seed, "elapsed_s": time.time() - t0,
                    "args": vars(args), "unigram_ppl": uni}, args.out)
    log("done: %d steps, %d tokens, %.0f s; best val loss %.4f ppl %.1f (unigram %.1f); first train loss %.3f, last ema %.3f"
        % (step, seen, time.time() - t0, best, math.exp(best), uni, first_loss, ema))
    if args.smoke:
        ok = ema < first_loss - 0.5
        log("smoke: loss fell from %.3f to %.3f: %s" % (first_loss, ema, "OK" if ok else "FAILED"))
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
