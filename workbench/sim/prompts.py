"""Seeded synthetic prompts per task type, with cue words that move the complexity factors.

The words come from the classifier's keyword groups and the complexity analyzer's cue lists, so the
generated traffic spreads over task types and complexity tiers the way real gateway traffic does.
"""

from __future__ import annotations

import numpy as np

TOPICS: tuple[str, ...] = (
    "a rate limiter", "the billing service", "a chess engine", "our onboarding flow", "a recipe app",
    "the search index", "a weather station", "a payment gateway", "the cache layer", "a chat bot",
    "a sensor network", "the mobile client", "an inventory system", "the report generator", "a web crawler",
    "the auth service", "a trading bot", "the data pipeline", "a music player", "the job scheduler",
)
LANGS: tuple[str, ...] = ("python", "rust", "sql", "go", "typescript")
SUBJECTS: tuple[str, ...] = (
    "autumn", "the sea", "a lighthouse keeper", "city traffic", "a lost robot", "friendship", "the moon",
    "a small bakery", "winter mornings", "an old train",
)

TEMPLATES: dict[str, tuple[str, ...]] = {
    "development": (
        "implement {topic} in {lang}",
        "debug this {lang} function for {topic}: it fails on empty input",
        "refactor the module behind {topic} and add a unit test",
        "fix the bug in {topic}; the script crashes on start",
        "review this {lang} code for {topic}",
    ),
    "research": (
        "find sources on {topic}",
        "research how others build {topic} and cite the literature",
        "look up benchmarks for {topic}",
        "search for prior work on {topic}",
    ),
    "creative": (
        "write a poem about {subject}",
        "write a short story about {subject}",
        "compose lyrics about {subject}",
        "draft an essay on {subject}",
        "write a haiku about {subject}",
    ),
    "analysis": (
        "explain how {topic} works",
        "summarize the design of {topic}",
        "compare two designs for {topic}",
        "evaluate the risks of {topic}",
        "analyze the failure of {topic}",
    ),
    "triage": (
        "classify this ticket about {topic}",
        "label this message: {topic} is down",
        "quick: is {topic} a frontend or backend issue?",
        "route this request about {topic}",
        "yes or no: does {topic} need a restart",
    ),
}

# Extensions that raise complexity factors (reasoning, domain, structure, security, context, ambiguity).
HARDER: tuple[str, ...] = (
    "explain the trade-offs step by step",
    "with a distributed consensus protocol and analyze the race conditions",
    "return the result as json with a schema",
    "and check for sql injection and authentication vulnerabilities",
    "as discussed earlier, continue from the previous answer",
    "derive the algorithm and prove its invariants",
    "optimize for latency and throughput on the gpu",
    "make it better somehow",
)
TASK_SHARES: dict[str, float] = {
    "triage": 0.30, "development": 0.25, "analysis": 0.20, "creative": 0.15, "research": 0.10,
}


def make_prompts(n: int, rng: np.random.Generator) -> list[str]:
    """`n` prompts; task types in TASK_SHARES proportions, 0-3 harder extensions each (fewer is likelier)."""
    tasks = list(TASK_SHARES)
    shares = np.array([TASK_SHARES[t] for t in tasks])
    kinds = rng.choice(len(tasks), size=n, p=shares / shares.sum())
    extra = rng.choice(4, size=n, p=[0.45, 0.30, 0.17, 0.08])
    out: list[str] = []
    for i in range(n):
        task = tasks[int(kinds[i])]
        templates = TEMPLATES[task]
        text = templates[int(rng.integers(len(templates)))].format(
            topic=TOPICS[int(rng.integers(len(TOPICS)))],
            lang=LANGS[int(rng.integers(len(LANGS)))],
            subject=SUBJECTS[int(rng.integers(len(SUBJECTS)))],
        )
        if extra[i]:
            picks = rng.choice(len(HARDER), size=int(extra[i]), replace=False)
            text = text + ", " + ", ".join(HARDER[int(j)] for j in sorted(picks))
        out.append(text)
    return out
