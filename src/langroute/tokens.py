"""Token counting with tiktoken that never crashes offline.

tiktoken downloads its BPE files on first use. When that fails (no network, air-gapped
hosts), counts fall back to an estimate of one token per 4 characters (rounded up), with
one warning per process. Set `TIKTOKEN_CACHE_DIR` to a folder holding the encoding files
to get exact counts offline.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import lru_cache

logger = logging.getLogger("langroute.tokens")

CHARS_PER_TOKEN = 4
"""The offline estimate: English text averages about four characters per BPE token."""

DEFAULT_ENCODING = "o200k_base"

_lock = threading.Lock()
_warned = False


def estimate_tokens(text: str) -> int:
    """The documented estimate used when no encoding can be loaded: ceil(len / 4)."""
    return -(-len(text) // CHARS_PER_TOKEN)


@lru_cache(maxsize=8)
def _counter(encoding: str) -> tuple[Callable[[str], int], bool]:
    """A counting function for `encoding` and whether it is exact."""
    global _warned
    try:
        import tiktoken

        enc = tiktoken.get_encoding(encoding)

        def exact(text: str) -> int:
            return len(enc.encode_ordinary(text))

        return exact, True
    except Exception as exc:  # network, missing file, unknown name: all mean "estimate"
        with _lock:
            if not _warned:
                _warned = True
                logger.warning(
                    "tiktoken could not load encoding %r (%s); token counts are estimated "
                    "as ceil(characters / %d). Set TIKTOKEN_CACHE_DIR to a folder with the "
                    "encoding files for exact counts.",
                    encoding,
                    type(exc).__name__,
                    CHARS_PER_TOKEN,
                )
        return estimate_tokens, False


def count_tokens(text: str, encoding: str = DEFAULT_ENCODING) -> int:
    """Tokens in `text` under `encoding`, or the estimate when it cannot be loaded."""
    if not text:
        return 0
    return _counter(encoding)[0](text)


def counts_are_exact(encoding: str = DEFAULT_ENCODING) -> bool:
    """Whether `count_tokens` uses the real encoding (False: the offline estimate)."""
    return _counter(encoding)[1]


MESSAGE_OVERHEAD_TOKENS = 4
"""Per-message framing tokens in chat formats (role, separators), as OpenAI documents."""

IMAGE_TOKENS = 765
"""A flat estimate for one image (a 1024x1024 image at high detail under OpenAI's rule)."""
