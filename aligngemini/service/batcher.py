"""Micro-batching: images of concurrent requests go through the branches together.

The first image waiting opens a batch; it runs when `max_batch` images have joined, when the
next image would take its decoded pixels past `max_pixels` (that image opens the next batch),
or when `max_wait_s` has passed, in a worker thread of its own (the forwards release the GIL and
the event loop keeps accepting requests meanwhile). One batch runs at a time: the model's own threads
already use the cores."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from PIL import Image

Score = Callable[[Sequence[str], Sequence[Image.Image]], tuple[list, object]]


@dataclass
class _Item:
    name: str
    image: Image.Image
    future: asyncio.Future


class MicroBatcher:
    def __init__(self, score: Score, max_batch: int, max_wait_s: float, max_pixels: int):
        self._score, self.max_batch, self.max_wait_s, self.max_pixels = score, max_batch, max_wait_s, max_pixels
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._carried: _Item | None = None  # taken from the queue, but it did not fit the last batch
        self._task: asyncio.Task | None = None
        self._worker: ThreadPoolExecutor | None = None
        self.batches = 0  # batches run, for tests and the load benchmark

    def start(self) -> None:
        # One thread of its own: every batch allocates in the same place, so the allocator's
        # per-thread pools do not multiply with the default executor's threads.
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="score")
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._worker:
            self._worker.shutdown(wait=False, cancel_futures=True)

    async def submit(self, names: Sequence[str], images: Sequence[Image.Image]) -> list[tuple]:
        """(result, model) per image, in order, whichever batches they ran in."""
        loop = asyncio.get_running_loop()
        items = [_Item(name, image, loop.create_future()) for name, image in zip(names, images)]
        for item in items:
            self._queue.put_nowait(item)
        return list(await asyncio.gather(*(item.future for item in items)))

    async def _run(self) -> None:
        while True:
            batch = [self._carried or await self._queue.get()]
            self._carried, pixels = None, _pixels(batch[0])
            deadline = time.monotonic() + self.max_wait_s
            while len(batch) < self.max_batch:
                try:
                    item = await asyncio.wait_for(self._queue.get(), max(0.0, deadline - time.monotonic()))
                except TimeoutError:
                    break
                if pixels + _pixels(item) > self.max_pixels:
                    self._carried = item
                    break
                batch.append(item)
                pixels += _pixels(item)
            try:
                loop = asyncio.get_running_loop()
                results, model = await loop.run_in_executor(self._worker, self._score, [i.name for i in batch], [i.image for i in batch])
            except Exception as exc:  # the batch's requests get the error, the loop serves the next batch
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(exc)
                continue
            self.batches += 1
            for item, result in zip(batch, results):
                if not item.future.done():  # a client that went away cancelled its future
                    item.future.set_result((result, model))


def _pixels(item: _Item) -> int:
    return item.image.width * item.image.height
