"""What a word can be, one rule for every part that reads or writes words: the tokenizer, the vocabulary
file, and the word2vec text and binary formats.

A token is a maximal run of bytes other than ASCII whitespace, so no word contains any of ASCII_WHITESPACE;
a token longer than MAX_WORD_BYTES bytes is cut to its first MAX_WORD_BYTES bytes (at a UTF-8 character
boundary), as word2vec C cuts words at 100 bytes. Writers refuse any other word and readers accept every
word up to the limit, so whatever is written can be read back.
"""
from .errors import short_repr

MAX_WORD_BYTES = 1000
ASCII_WHITESPACE = " \t\n\r\v\f"
_WHITESPACE_TABLE = str.maketrans("", "", ASCII_WHITESPACE)


def word_problem(word):
    """Why `word` cannot be stored in the word2vec formats, or None if it can."""
    if not word:
        return "is empty"
    if len(word.translate(_WHITESPACE_TABLE)) != len(word):
        return "contains ASCII whitespace"
    if len(word) * 4 > MAX_WORD_BYTES and len(word.encode("utf-8")) > MAX_WORD_BYTES:
        return f"is longer than {MAX_WORD_BYTES} bytes"
    return None


def unwritable(words):
    """Why the first word that cannot be stored cannot be ('word 3 (...) contains ASCII whitespace; ...'),
    or None when every word can be."""
    for i, word in enumerate(words):
        reason = word_problem(word)
        if reason:
            return f"word {i} ({short_repr(word)}) {reason}; the word2vec formats cannot store it"
    return None
