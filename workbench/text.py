"""Small text utilities shared by scorers, assemblers and the simulated fleet: key terms, sentences."""

from __future__ import annotations

import re

STOPWORDS = frozenset(
    "a an and are about as at be by for from how i in into is it me my of on or please the this to what "
    "that when where which who why with write you your can could would should give tell make do does "
    "was were will not no yes all any some more most than then there these those its it's our we they "
    "them their has have had been being if so but also just very".split()
)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_'-]{2,}")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def key_terms(text: str, limit: int = 12) -> list[str]:
    """Content words in order of first appearance: what an answer should talk about."""
    return list(dict.fromkeys(w for w in words(text) if w not in STOPWORDS))[:limit]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]
