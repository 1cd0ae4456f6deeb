"""The blank-text pattern published in the contract means what the server enforces."""

import re
import sys

from app.schemas.common import NOT_BLANK_NO_NUL, WHITESPACE_CLASS


def test_whitespace_class_is_exactly_python_whitespace() -> None:
    class_re = re.compile(f"[{WHITESPACE_CLASS}]")
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        assert bool(class_re.fullmatch(char)) == char.isspace(), hex(code)


def test_pattern_uses_no_engine_dependent_shorthand() -> None:
    assert "\\s" not in NOT_BLANK_NO_NUL.regex
    assert "\\S" not in NOT_BLANK_NO_NUL.regex


def test_blank_and_nul_rules() -> None:
    pattern = re.compile(NOT_BLANK_NO_NUL.regex)
    for blank in ("", " ", "\x1f", "\x85", "\u3000 \t"):
        assert not pattern.search(blank), repr(blank)
    for text in ("a", " a ", "\ufeff", "\u200b"):
        assert pattern.search(text), repr(text)
    assert not pattern.search("a\x00b")
