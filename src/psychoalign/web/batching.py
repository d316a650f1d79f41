"""The model in the loop for many players: click requests micro-batched into forward passes.

Each click asks the model to classify the image as revealed so far. Requests that arrive
while the model is busy, or within ``window_s`` of the first one, are classified together
in one forward pass (at most ``max_batch`` images), in one worker thread, so the event
loop keeps serving requests meanwhile. ``max_batch=1`` classifies one request at a time
(the baseline of ``benchmarks/web_latency.py``).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from psychoalign._checks import number_at_least, whole_number
from psychoalign.web.errors import WebError

if TYPE_CHECKING:
    from psychoalign.models import ModelObserver

__all__ = ["ModelBatcher"]


class ModelBatcher:
    """Classify revealed images for many concurrent requests in few forward passes.

    Parameters
    ----------
    observer
        The model observer (model + decision mapping) that answers.
    window_s
        How long the first request of a batch waits for others when the model is idle.
    max_batch
        Most images in one forward pass.

    Attributes
    ----------
    batch_sizes : list of int
        The size of every forward pass so far, in order.

    Examples
    --------
    >>> import asyncio
    >>> from psychoalign.models import ModelObserver
    >>> batcher = ModelBatcher(ModelObserver(device="cpu"), window_s=0.05)
    >>> grey = np.full((224, 224, 3), 128, dtype=np.uint8)
    >>> async def three():
    ...     return await asyncio.gather(*(batcher.classify(grey) for _ in range(3)))
    >>> answers = asyncio.run(three())
    >>> batcher.batch_sizes, len({answer for answer, _ in answers})
    ([3], 1)
    """

    def __init__(self, observer: ModelObserver, *, window_s: float = 0.005, max_batch: int = 32):
        self.observer = observer
        self.window_s = number_at_least("batch_window_ms", window_s, 0, error=WebError)
        self.max_batch = whole_number("max_batch", max_batch, 1, error=WebError)
        self.batch_sizes: list[int] = []
        self._pending: list[tuple[np.ndarray, asyncio.Future[tuple[str, np.ndarray]]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._busy = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="psychoalign-model")

    @property
    def categories(self) -> list[str]:
        """The categories the model answers with (those of its decision mapping)."""
        return list(self.observer.mapping.categories)

    async def classify(self, pixels: np.ndarray) -> tuple[str, np.ndarray]:
        """The model's answer and category scores for one image (height, width, 3) uint8."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[str, np.ndarray]] = loop.create_future()
        self._pending.append((pixels, future))
        if not self._busy:
            if len(self._pending) >= self.max_batch:
                self._flush(loop)
            elif self._timer is None:
                self._timer = loop.call_later(self.window_s, self._flush, loop)
        return await future

    def classify_now(self, images: list[np.ndarray]) -> tuple[list[str], np.ndarray]:
        """Answers and scores (n, categories) of images in one forward pass, in this thread."""
        import torch

        inputs = torch.cat([self.observer.prepare(image) for image in images])
        _, scores = self.observer.forward(inputs)
        scores = scores.cpu().numpy()
        categories = self.observer.mapping.categories
        return [categories[i] for i in scores.argmax(axis=1)], scores

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        """Send up to ``max_batch`` waiting images to the worker thread as one batch."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
        batch = [(pixels, future) for pixels, future in batch if not future.cancelled()]
        if not batch:
            return
        self._busy = True
        self.batch_sizes.append(len(batch))
        done = self._executor.submit(self.classify_now, [pixels for pixels, _ in batch])
        done.add_done_callback(
            lambda finished: loop.call_soon_threadsafe(self._deliver, loop, batch, finished)
        )

    def _deliver(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[tuple[np.ndarray, asyncio.Future[tuple[str, np.ndarray]]]],
        finished: Future[tuple[list[str], np.ndarray]],
    ) -> None:
        """Answer every request of a finished batch; start the next batch if one waits."""
        self._busy = False
        error = finished.exception()
        for number, (_, future) in enumerate(batch):
            if future.cancelled():
                continue
            if error is not None:
                future.set_exception(error)
            else:
                answers, scores = finished.result()
                future.set_result((answers[number], scores[number]))
        if self._pending:  # they waited while the model was busy: no further window
            self._flush(loop)

    def close(self) -> None:
        """Stop the worker thread (after the batch it is computing)."""
        self._executor.shutdown(wait=True)
