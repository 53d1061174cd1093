"""Train the tiny causal LM on the prepared corpus (prepare_data.mjs): warm-up then cosine decay over a
budget of tokens, evaluations that log validation loss, bits per character and every head's scores
(head_scores.py), and checkpoints that let a run stop and resume in a later session.

usage: python3 train.py [--tokens 40e6] [--minutes 60] [--layers 2] [--smear all] [--resume] [--smoke]
  --tokens    the schedule's length (the learning rate reaches its floor there; the run ends there)
  --minutes   stop after this much wall-clock time in this process (resume later with --resume)
  --resume    continue from <out>.state.pt (model, optimizer, data order, counters); with --tokens,
              the schedule is stretched or shortened to the new budget from where the run is
  --smear     which layers smear their keys (model.py): all, last, first, none, or indices "0,2"
  --synthetic share of training windows holding a random 10-30-token span repeated twice (the data
              an induction head learns from), spliced into real text or at its start
  --device    cpu (default; one thread: on these shared 2-core machines one torch thread ran ~3.5x
              faster than two) or cuda (bf16 autocast; use a large --batch)
  --smoke     tiny model on the first 30k training tokens for <= 45 s; exits 1 unless the loss falls
Writes <out> (the latest weights and config, what export.py reads), <out>.state.pt (for --resume) and
the log given by --log; never models/*.qkv.
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
from head_scores import head_scores, is_punct_piece, KINDS  # noqa: E402


def load_split(data_dir, name):
    ids = np.fromfile(os.path.join(data_dir, name + ".ids.u16"), dtype="<u2").astype(np.int64)
    starts = np.fromfile(os.path.join(data_dir, name + ".starts.u32"), dtype="<u4").astype(np.int64)
    return ids, starts


def val_windows(ids, T, bos_id):
    """The validation stream cut into consecutive chunks of T-1 tokens, each after a <bos>: every
    validation token is predicted exactly once."""
    n = T - 1
    out = []
    for s in range(0, len(ids), n):
        chunk = ids[s:s + n]
        if len(chunk) >= 1:
            out.append(np.concatenate([[bos_id], chunk]))
    return out


@torch.no_grad()
def evaluate(model, windows, batch=16, device="cpu"):
    """Summed loss in nats over every target of `windows` and the number of targets."""
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
        logits = model(x.to(device)).float()
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.to(device).reshape(-1), ignore_index=-100,
                               reduction="sum")
        total += loss.item()
        count += (y != -100).sum().item()
    model.train()
    return total, count


def repeated_span_batch(rng, word_ids, n, span_min, span_max, bos_id):
    """n sequences <bos> + s + s of a random span s of word pieces, and each span's length."""
    L = int(rng.integers(span_min, span_max + 1))
    spans = rng.choice(word_ids, size=(n, L))
    x = np.concatenate([np.full((n, 1), bos_id), spans, spans], axis=1)
    return x, L


@torch.no_grad()
def head_report(model, val_ids, bos_id, punct, word_ids, seed, windows=48, length=128, device="cpu"):
    """Every head's scores (head_scores.py) averaged over validation windows of real text, its
    induction score on random spans repeated twice, and the loss on the first and second copy."""
    model.eval()
    cfg = model.config
    Lr, H = cfg["n_layers"], cfg["n_heads"]
    n = min(length, cfg["max_positions"]) - 1
    acc = {(l, h): {k: [] for k in KINDS + ("entropy",)} for l in range(Lr) for h in range(H)}
    for s in range(0, min(len(val_ids) - n, windows * n), n):
        ids = np.concatenate([[bos_id], val_ids[s:s + n]])
        _, traces = model(torch.as_tensor(ids, device=device)[None], trace=True)
        for l, tr in enumerate(traces):
            w = tr["weights"][0].float().cpu().numpy()
            for h in range(H):
                for k, v in head_scores(w[h], ids, punct).items():
                    if v is not None:
                        acc[(l, h)][k].append(v)
    rng = np.random.default_rng(seed)
    x, L = repeated_span_batch(rng, word_ids, 32, 20, 20, bos_id)
    logits, traces = model(torch.as_tensor(x, device=device), trace=True)
    nll = F.cross_entropy(logits[:, :-1].float().reshape(-1, logits.shape[-1]), torch.as_tensor(x[:, 1:], device=device).reshape(-1),
                          reduction="none").reshape(x.shape[0], -1).cpu().numpy()
    # targets 1..L are the first copy (the first one is guessed from <bos> alone), L+1..2L the second
    first, second = float(nll[:, 1:L].mean()), float(nll[:, L + 1:2 * L].mean())
    induction = {}
    q = np.arange(L + 1, 2 * L + 1)  # second-copy queries; each one's first occurrence is at q - L
    for l, tr in enumerate(traces):
        w = tr["weights"].float().cpu().numpy()  # [B, H, T, T]
        for h in range(H):
            induction[(l, h)] = float(w[:, h, q, q - L + 1].mean())
    model.train()
    heads = {}
    for (l, h), d in acc.items():
        r = {k: (round(float(np.mean(v)), 3) if v else None) for k, v in d.items()}
        r["induction_repeat"] = round(induction[(l, h)], 3)
        heads["%d.%d" % (l + 1, h + 1)] = r
    smear = {}
    for i, layer in enumerate(model.layers):
        if layer.smear is not None:
            smear["%d" % (i + 1)] = [round(float(v), 3) for v in torch.sigmoid(layer.smear.float())]
    return {"heads": heads, "repeat_loss_first": round(first, 3), "repeat_loss_second": round(second, 3),
            "smear_sigmoid": smear}


def summary(report):
    """One line: the best head for each target."""
    best = {}
    for name, r in report["heads"].items():
        for k in ("previous", "induction_repeat", "start", "duplicate", "punctuation"):
            if r.get(k) is not None and r[k] > best.get(k, ("", -1))[1]:
                best[k] = (name, r[k])
    return " ".join("%s %s=%.2f" % (k, n, v) for k, (n, v) in best.items()) + \
        " | repeat loss %.2f -> %.2f" % (report["repeat_loss_first"], report["repeat_loss_second"])


def smear_layers_of(spec, n_layers):
    if spec == "all":
        return list(range(n_layers))
    if spec == "none":
        return []
    if spec == "last":
        return [n_layers - 1]
    if spec == "first":
        return [0]
    return [int(i) for i in spec.split(",")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(HERE, "work", "data"))
    ap.add_argument("--out", default=os.path.join(HERE, "work", "ckpt.pt"))
    ap.add_argument("--log", default=None)
    ap.add_argument("--tokens", type=float, default=40e6)
    ap.add_argument("--minutes", type=float, default=1e9)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--d-model", type=int, default=100)
    ap.add_argument("--d-ff", type=int, default=256)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--smear", default="all")
    ap.add_argument("--synthetic", type=float, default=0.2)
    ap.add_argument("--eval-every", type=float, default=300.0, help="seconds")
    ap.add_argument("--eval-tokens", type=int, default=40000, help="validation tokens per periodic evaluation")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    if args.smoke:
        args.tokens, args.minutes, args.layers, args.d_ff, args.seq, args.batch = 3e5, 0.3, 1, 64, 64, 16
        args.eval_every, args.warmup, args.lr, args.eval_tokens = 10.0, 20, 3e-3, 3000
    state_path = args.out + ".state.pt"
    log_f = open(args.log, "a") if args.log else None

    def log(msg):
        line = "[%s] %s" % (time.strftime("%Y-%m-%d %H:%M:%S"), msg)
        print(line, flush=True)
        if log_f:
            log_f.write(line + "\n")
            log_f.flush()

    device = torch.device(args.device)
    st = None
    if args.resume:  # the run's own architecture, data order and hyper-parameters, whatever this command says
        st = torch.load(state_path, map_location=device)
        for key in ("layers", "heads", "d_model", "d_ff", "seq", "batch", "lr", "warmup", "smear", "synthetic", "seed"):
            setattr(args, key, st["args"][key])
    torch.set_num_threads(args.threads)
    with open(os.path.join(args.data, "vocab.json")) as f:
        vocab = json.load(f)
    with open(os.path.join(args.data, "stats.json")) as f:
        stats = json.load(f)
    V = len(vocab)
    bos_id = vocab.index("<bos>")
    punct = np.array([is_punct_piece(p) for p in vocab])
    # the pieces that are whole words of letters: what synthetic spans are made of
    word_ids = np.array([i for i, p in enumerate(vocab) if p.startswith("\u2581") and len(p) >= 3 and p[1:].isalpha()])
    train_ids, train_starts = load_split(args.data, "train")
    val_ids, _ = load_split(args.data, "val")
    val_chars = stats.get("val_chars")
    if args.smoke:
        train_ids, train_starts = train_ids[:30000], train_starts[train_starts < 30000 - args.seq]
        val_ids, val_chars = val_ids[:3000], None
    all_windows = val_windows(val_ids, args.seq, bos_id)
    periodic = all_windows[:max(1, args.eval_tokens // (args.seq - 1))]

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    model = TinyLM(V, args.d_model, args.layers, args.heads, args.d_ff, args.seq, smear_layers=smear_layers_of(args.smear, args.layers))
    model.to(device)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.98))
    rng = np.random.default_rng(args.seed)
    step, seen, elapsed_before, first_loss, ema = 0, 0, 0.0, None, None
    if st is not None:
        assert st["config"] == model.config, "--resume: the saved config differs from this command's"
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["optimizer"])
        rng.bit_generator.state = st["rng"]
        torch.set_rng_state(st["torch_rng"])
        step, seen, elapsed_before, first_loss, ema = st["step"], st["tokens"], st["elapsed_s"], st["first_loss"], st["ema"]
        if "--tokens" not in sys.argv:  # the schedule is the one the run started with, unless changed here
            args.tokens = st["args"]["tokens"]
        log("resumed from %s: step %d, %d tokens, %.0f s so far" % (state_path, step, seen, elapsed_before))
    else:
        n_params = sum(p.numel() for p in model.parameters())
        log("config %s params %d vocab %d train tokens %d val tokens %d val chars %s seed %d args %s"
            % (json.dumps(model.config), n_params, V, len(train_ids), len(val_ids), val_chars, args.seed,
               json.dumps(vars(args))))

    def save(tag):
        ck = {"model": model.state_dict(), "config": model.config, "vocab": vocab, "step": step, "tokens": seen,
              "seed": args.seed, "elapsed_s": elapsed_before + time.time() - t0, "args": vars(args)}
        torch.save(ck, args.out + ".tmp")
        os.replace(args.out + ".tmp", args.out)
        ck.update(optimizer=opt.state_dict(), rng=rng.bit_generator.state, torch_rng=torch.get_rng_state(),
                  first_loss=first_loss, ema=ema)
        torch.save(ck, state_path + ".tmp")
        os.replace(state_path + ".tmp", state_path)

    def evaluation(windows, what):
        total, count = evaluate(model, windows, device=device)
        report = head_report(model, val_ids, bos_id, punct, word_ids, args.seed, device=device)
        line = "eval %s step %d tokens %d val loss %.4f ppl %.1f" % (what, step, seen, total / count, math.exp(total / count))
        if what == "full" and val_chars:
            line += " bits/char %.4f" % (total / math.log(2) / val_chars)
        log(line + " | " + summary(report))
        log("heads " + json.dumps(report))
        return total / count

    amp = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)
    n_body = args.seq - 1
    valid_starts = train_starts[train_starts + n_body <= len(train_ids)]
    t0 = time.time()
    last_eval = t0
    seen_at_start = seen
    while seen < args.tokens and time.time() - t0 < args.minutes * 60:
        frac = min(1.0, seen / args.tokens)
        lr = args.lr * min(1.0, (step + 1) / args.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        for gr in opt.param_groups:
            gr["lr"] = lr
        starts = rng.choice(valid_starts, size=args.batch)
        x = np.empty((args.batch, args.seq), dtype=np.int64)
        x[:, 0] = bos_id
        for j, s in enumerate(starts):
            x[j, 1:] = train_ids[s:s + n_body]
            if rng.random() < args.synthetic:
                L = int(rng.integers(10, 31))
                span = rng.choice(word_ids, size=L)
                at = 1 if rng.random() < 0.5 else int(rng.integers(1, args.seq - 2 * L + 1))
                x[j, at:at + L] = span
                x[j, at + L:at + 2 * L] = span
        x = torch.as_tensor(x, device=device)
        with amp:
            logits = model(x[:, :-1])
            loss = F.cross_entropy(logits.float().reshape(-1, V), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        seen += args.batch * n_body
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        if first_loss is None:
            first_loss = loss.item()
        if step % (10 if args.smoke else 100) == 0:
            log("step %d tokens %d lr %.2e train loss %.3f (ema %.3f) %.0f tok/s"
                % (step, seen, lr, loss.item(), ema, (seen - seen_at_start) / (time.time() - t0)))
        if time.time() - last_eval >= args.eval_every:
            last_eval = time.time()
            evaluation(periodic, "partial")
            save("periodic")
    save("end")
    finished = seen >= args.tokens
    vl = evaluation(all_windows, "full")
    log("%s: %d steps, %d tokens, %.0f s in all; val loss %.4f; first train loss %.3f, last ema %.3f"
        % ("done" if finished else "stopped (resume with --resume)", step, seen, elapsed_before + time.time() - t0,
           vl, first_loss, ema))
    if args.smoke:
        ok = ema < first_loss - 0.5
        log("smoke: loss fell from %.3f to %.3f: %s" % (first_loss, ema, "OK" if ok else "FAILED"))
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
