"""A name's search key: one Latin spelling for the ways a name is written and heard.

Agents type names as they hear them, in Latin, Devanagari or Bengali script: "Mohd Rahim",
"मोहम्मद रहीम", "মোঃ রহিম". ``name_key`` maps each of them to the same string:

1. transliterate any script to ASCII (anyascii: Devanagari and Bengali letters to their Latin
   sounds, without the inherent vowel that the scripts do not write);
2. drop honorifics (Smt, Shri, Sri, Mr, Mrs, Dr, Mst, ...);
3. fold what spellings disagree on: aspiration (bh/b, kh/k, th/t, ...), sh/s, w/v/b, z/j,
   ph/f, q/k, x/ks, ck/k, ow/au/ou as one vowel, an anusvara heard as n, Bengali য় as w;
4. keep a token's consonant skeleton: its first letter, then its consonants with vowels,
   doubled letters and a final y dropped (so "Ramesh", "Rmesh" and "रमेश" are all ``rms``);
5. map abbreviations to their full name's skeleton (Md, Mohd, মোঃ -> Mohammad's).

Search (``core.customers.search``) compares keys token by token with rapidfuzz, which forgives
the typos the folding leaves. ``folded`` is step 1-3 with the vowels kept, used to rank among
equal keys (Mohammad before Mahmud)."""

from __future__ import annotations

import re
from typing import NamedTuple

from anyascii import anyascii

HONORIFICS = frozenset({
    "smt", "shrimati", "srimati", "srimti", "shri", "sri", "shree", "sree", "mr", "mrs", "ms", "miss", "dr", "mst",
    "mosammat", "mosammath", "musammat", "late", "janab",
})

# abbreviations and the (folded) name they stand for: Md., Mohd, মোঃ (moh) for Mohammad
ABBREVIATIONS = {"md": "mohammad", "mohd": "mohammad", "mhd": "mohammad", "moh": "mohammad"}

_FOLDS = (
    ("chh", "c"), ("ch", "c"), ("sh", "s"), ("ph", "f"), ("bh", "b"), ("kh", "k"), ("gh", "g"), ("th", "t"),
    ("dh", "d"), ("jh", "j"), ("ck", "k"), ("x", "ks"), ("q", "k"), ("z", "j"), ("w", "b"), ("v", "b"),
)
_VOWELS = frozenset("aeiou")
_SPLIT = re.compile(r"[^a-z0-9]+")
_DIPHTHONG = re.compile(r"(?:ow|aw|ou|au)(?=[^aeiouy]|$)")  # Chowdhury, Choudhury, চৌধুরী (caudhuri)
_ANUSVARA = re.compile("[\u0902\u0982](?=[^\u092a-\u092e])")  # an anusvara heard as n: संजय, Sanjay
_YA = re.compile(r"y'(?=[aeiou])")  # Bengali য় between vowels is a w: আনোয়ার (anoy'ar), Anowar


class Word(NamedTuple):
    folded: str  # steps 1-3: "rames" (an abbreviation's full name)
    skeleton: str  # step 4-5: "rms"
    abbreviation: bool  # written as an abbreviation (Md)


def words(text: str) -> list[Word]:
    return [Word(ABBREVIATIONS.get(t, t), skeleton(t), t in ABBREVIATIONS) for t in tokens(text)]


def tokens(text: str) -> list[str]:
    """The folded tokens of ``text`` (steps 1-3), honorifics dropped."""
    ascii_text = _YA.sub("w", anyascii(_ANUSVARA.sub("n", text or "")).lower()).replace("'", "")
    out = []
    for raw in _SPLIT.split(ascii_text):
        if not raw or raw in HONORIFICS:
            continue
        token = raw if raw in ABBREVIATIONS else _fold(raw)
        if token in HONORIFICS:
            continue
        out.append(token)
    return out


def _fold(token: str) -> str:
    token = _DIPHTHONG.sub("o", token)
    for a, b in _FOLDS:
        token = token.replace(a, b)
    if len(token) > 1 and token.endswith("y") and token[-2] not in _VOWELS:  # Chowdhury / চৌধুরী
        token = token[:-1] + "i"
    return token


def skeleton(token: str) -> str:
    """First letter, then consonants, repeats collapsed: ``rames`` -> ``rms``."""
    token = ABBREVIATIONS.get(token, token)
    if len(token) > 1 and token.endswith("y"):  # a final y is a vowel: Vijay, विजय (vijy), Roy, রায়
        token = token[:-1]
    if not token:
        return ""
    out = [token[0]]
    for ch in token[1:]:
        if ch in _VOWELS or ch == out[-1]:
            continue
        out.append(ch)
    return "".join(out)


def name_key(text: str) -> str:
    """The search key stored with each customer (``Customer.name_key``): skeletons, space-separated."""
    return " ".join(s for s in (skeleton(t) for t in tokens(text)) if s)[:255]


def folded(text: str) -> str:
    return " ".join(tokens(text))
