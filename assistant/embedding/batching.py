"""Natural batching of query encodings for a concurrent server.

Requests that arrive while the encoder is busy are encoded together in the next call: no waiting
when the server is idle, and under load one batched forward pass instead of many single ones (on two
CPU cores a batch of four short questions costs little more than one).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future

import numpy as np


class QueryBatcher:
    def __init__(self, encode: Callable[[list[str]], np.ndarray], max_batch: int = 32):
        self._encode = encode
        self._max_batch = max_batch
        self._queue: queue.Queue[tuple[str, Future]] = queue.Queue()
        threading.Thread(target=self._worker, name="query-batcher", daemon=True).start()

    def encode(self, text: str) -> np.ndarray:
        future: Future = Future()
        self._queue.put((text, future))
        return future.result()

    def _worker(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                vectors = self._encode([text for text, _ in batch])
                for (_, future), vector in zip(batch, vectors, strict=True):
                    future.set_result(vector)
            except Exception as exc:  # hand the error to every waiting caller
                for _, future in batch:
                    future.set_exception(exc)
