"""Deterministic stand-in answer text for the simulated fleet, shaped by the prompt and task type.

The text exists so streams, token counts and relevance scoring have something real-looking to
work on; its length follows the simulated output token count.
"""

from __future__ import annotations

import re

import numpy as np

_STOP = frozenset(
    "a an and are about as at be by for from how i in into is it me my of on or please the this to what "
    "that when where which who why with write you your can could would should give tell make".split()
)
_OPENERS = {
    "creative": ["Here is a piece on", "A short take on", "Something written about"],
    "development": ["Here is an approach to", "A working outline for", "Steps to implement"],
    "analysis": ["An analysis of", "Weighing up", "A breakdown of"],
    "research": ["What the sources say about", "An overview of findings on", "Key references on"],
    "triage": ["In short, on", "Quick answer about", "Triage note on"],
}
_SENTENCES = (
    "The main point about {t} is that careful trade-offs matter.",
    "Each option for {t} has costs and benefits worth naming.",
    "In practice the simplest design for {t} that meets the need wins.",
    "Measure {t} before and after any change.",
    "Consider how {t} fails before deciding how it succeeds.",
    "With {t}, latency and quality pull in different directions.",
    "The evidence on {t} points one way, though not conclusively.",
    "A small example makes {t} concrete.",
    "Start from what the reader of {t} needs to do next.",
    "The common mistake with {t} is optimising the wrong number.",
    "Good defaults for {t} matter more than many knobs.",
    "Write down the assumptions behind {t} so they can be checked.",
    "Compare {t} against the obvious baseline first.",
    "The edge cases of {t} deserve a test each.",
    "Keep {t} observable: log what was decided and why.",
    "Cost and reliability of {t} should be read together.",
)


def key_terms(prompt: str, limit: int = 6) -> list[str]:
    words = re.findall(r"[A-Za-z][A-Za-z0-9_-]{2,}", prompt.lower())
    return list(dict.fromkeys(w for w in words if w not in _STOP))[:limit]


def answer_text(prompt: str, task_type: str, tokens: int, rng: np.random.Generator) -> str:
    """About `tokens` tokens (~0.75 words a token) of text that mentions the prompt's key terms."""
    terms = key_terms(prompt) or ["the question"]
    openers = _OPENERS.get(task_type, ["On"])
    first = f"{openers[int(rng.integers(len(openers)))]} {' '.join(terms[:3])}."
    paragraphs: list[list[str]] = [[first]]
    words = len(first.split())
    target = max(4, int(tokens * 0.75))
    # Python ints and precounted words: this runs for every simulated answer, hundreds of words each.
    order = rng.permutation(len(_SENTENCES)).tolist()
    term_words = [len(t.split()) for t in terms]
    n_order, n_terms = len(order), len(terms)
    i = 0
    while words < target:
        k = order[i % n_order]
        sentence = _SENTENCES[k].format(t=terms[i % n_terms])
        if len(paragraphs[-1]) >= 4:
            paragraphs.append([])
        paragraphs[-1].append(sentence)
        words += _TEMPLATE_WORDS[k] + term_words[i % n_terms]
        i += 1
    return "\n\n".join(" ".join(p) for p in paragraphs)


# Words in each template around its term: the sentence's word count is this plus the term's own words.
_TEMPLATE_WORDS = [len(t.format(t="x").split()) - 1 for t in _SENTENCES]
