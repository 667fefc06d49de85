"""A CLI progress bar over a flow's mapped tasks (Prefect logs each task as well)."""

from __future__ import annotations

from collections.abc import Sequence

from prefect.futures import PrefectFuture, as_completed
from tqdm import tqdm


def collect(futures: Sequence[PrefectFuture], total: int, desc: str, unit: str = "img") -> list:
    """Results in completion order; the bar advances by each result's count (an int) or
    by one. The first failed task raises here, after its retries."""
    results = []
    with tqdm(total=total, desc=desc, unit=unit) as bar:
        for future in as_completed(futures):
            result = future.result()
            results.append(result)
            bar.update(result if isinstance(result, int) else 1)
    return results
