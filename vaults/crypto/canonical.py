"""Unambiguous byte encodings of tuples of names, used as AES-GCM associated data and HKDF info.

Each part is UTF-8 with a 4-byte big-endian length prefix, after a domain tag that says what the
bytes are for: ``("ab", "c")`` and ``("a", "bc")`` never encode alike, and an encoding made for one
purpose never equals one made for another.
"""

from __future__ import annotations


def encode_part(part: str) -> bytes:
    """One length-prefixed part (``int.to_bytes`` refuses a part over 4 GiB with OverflowError)."""
    raw = part.encode("utf-8")
    return len(raw).to_bytes(4, "big") + raw


def encode_parts(domain: bytes, *parts: str) -> bytes:
    """``domain`` (itself length-prefixed) followed by each part, length-prefixed."""
    return b"".join((len(domain).to_bytes(4, "big"), domain, *(encode_part(p) for p in parts)))
