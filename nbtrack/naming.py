"""Readable random run names, like MLflow's ("brave-fox-123")."""

from __future__ import annotations

import random

_ADJECTIVES = (
    "amber", "bold", "brave", "bright", "calm", "clever", "crisp", "eager", "fair", "fast",
    "gentle", "glad", "grand", "keen", "kind", "lively", "lucid", "merry", "nimble", "noble",
    "placid", "proud", "quick", "quiet", "rare", "sharp", "shy", "silent", "smart", "steady",
    "sunny", "swift", "tidy", "vivid", "warm", "wise", "witty", "young", "zesty", "able",
)
_NOUNS = (
    "ant", "bat", "bear", "bee", "crane", "crow", "deer", "dove", "eel", "elk", "finch",
    "fox", "frog", "gnu", "goat", "hare", "hawk", "heron", "ibis", "jay", "kite", "koala",
    "lark", "lynx", "mole", "moth", "newt", "otter", "owl", "panda", "seal", "shrew",
    "snail", "stork", "swan", "toad", "trout", "vole", "wolf", "wren",
)


def random_run_name() -> str:
    """A name such as ``brave-fox-123``."""
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randint(0, 999)}"
