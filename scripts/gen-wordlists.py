#!/usr/bin/env python3
"""Regenerates node/src/redact/words/*.txt, the common-word lists redaction's allow-list pass
ships in the binary, from the frequency data of the `wordfreq` package (PyPI; data CC BY-SA 4.0,
by Robyn Speer and contributors, built from Wikipedia, subtitles, news, books, web text, Reddit
and Twitter). Each file holds one language's most frequent purely alphabetic words, most frequent
first, one a line, lower case. `names.txt` holds personal names (a word there is never taken as
safe when capitalised): the US Census 1990 surnames (top 20,000) and given names, public domain,
as shipped by the PyPI package `names`.

    python3 -m venv /tmp/wf && /tmp/wf/bin/pip install msgpack && pip download --no-deps wordfreq==3.1.1 -d /tmp/wf
    pip download --no-deps names==0.3.0 -d /tmp/wf && tar xzf /tmp/wf/names-0.3.0.tar.gz -C /tmp/wf
    /tmp/wf/bin/python scripts/gen-wordlists.py /tmp/wf/wordfreq-3.1.1-py3-none-any.whl /tmp/wf/names-0.3.0/names
"""
import gzip
import io
import pathlib
import sys
import zipfile

import msgpack

# Language: how many words. English carries most operator text, so it gets the longest list.
LANGUAGES = {
    "en": 50000, "de": 40000, "fr": 30000, "es": 30000, "pt": 30000, "it": 30000, "nl": 20000,
    "ru": 50000, "pl": 30000, "sv": 12000, "uk": 20000, "tr": 12000, "id": 12000, "cs": 20000,
}

def words(wheel: zipfile.ZipFile, lang: str):
    name = f"wordfreq/data/large_{lang}.msgpack.gz"
    if name not in wheel.namelist():
        name = f"wordfreq/data/small_{lang}.msgpack.gz"
    packed = msgpack.unpackb(gzip.decompress(wheel.read(name)), raw=False)
    assert packed[0].get("format") == "cB", packed[0]
    for bucket in packed[1:]:  # buckets in falling frequency
        yield from bucket

def main() -> None:
    wheel = zipfile.ZipFile(sys.argv[1])
    out = pathlib.Path(__file__).resolve().parent.parent / "node/src/redact/words"
    out.mkdir(parents=True, exist_ok=True)
    for lang, limit in LANGUAGES.items():
        kept = []
        for w in words(wheel, lang):
            # Letters only (an apostrophe or hyphen inside is fine): numbers are judged apart.
            core = w.replace("'", "").replace("’", "").replace("-", "")
            if len(w) < 2 or not core.isalpha():
                continue
            kept.append(w)
            if len(kept) == limit:
                break
        (out / f"{lang}.txt").write_text("\n".join(kept) + "\n", encoding="utf-8")
        print(lang, len(kept))
    census = pathlib.Path(sys.argv[2])
    names = []
    for file, limit in (("dist.all.last", 20000), ("dist.male.first", None), ("dist.female.first", None)):
        lines = (census / file).read_text().splitlines()[:limit]
        names += [line.split()[0].lower() for line in lines if line.strip()]
    names = sorted(set(n for n in names if n.isalpha() and len(n) >= 2))
    (out / "names.txt").write_text("\n".join(names) + "\n", encoding="utf-8")
    print("names", len(names))

if __name__ == "__main__":
    main()
