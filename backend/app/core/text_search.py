"""Keyword search for SQLite, matching what PostgreSQL's `simple` text search finds.

PostgreSQL splits text into words, lower-cases them and matches a `plainto_tsquery` when
every query word is present. SQLite has no such thing built in, so the same rule runs here
as an SQL function (`tasks_search_rank`) registered on every SQLite connection.
"""

import re
from collections import Counter

_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """The lower-cased words (runs of letters and digits) of a text."""
    return _WORD.findall(text.lower())


def search_rank(title: str | None, description: str | None, query: str | None) -> float:
    """0.0 unless every query word is a word of the task; otherwise a positive score that
    grows with how often the query words occur (title words count double)."""
    wanted = set(words(query or ""))
    if not wanted:
        return 0.0
    title_words = Counter(words(title or ""))
    body_words = Counter(words(description or ""))
    if not all(word in title_words or word in body_words for word in wanted):
        return 0.0
    hits = sum(2 * title_words[word] + body_words[word] for word in wanted)
    total = sum(title_words.values()) + sum(body_words.values())
    return hits / (1 + total)
