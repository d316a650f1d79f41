"""The ranking kernel behind Spearman's rho over pixels: exact average ranks, fast.

Each map is sorted by a two-pass radix sort on the 32 bits of its values as float32
(float64 values that round to the same float32 are re-sorted exactly), and when the lowest
value (0 in a click map) fills a quarter or more of the map only the other pixels are
sorted. Ranks are doubled and centred, so every sum is a sum of integers, exact in
float64. :func:`spearman_rows` pairs rows of two arrays; ``spearman_maps`` and the
ceiling and floor of :class:`~psychoalign.metrics.clickmaps.ClickMaps` use it.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MapRanker", "spearman_rows"]

# A map whose lowest value fills at least 1/_LOW_SHARE of its pixels ranks only the rest.
_LOW_SHARE = 4


class MapRanker:
    """Ranks 1-D maps of up to ``size`` pixels in reused scratch buffers.

    Fresh large arrays are avoided where numpy allows: on some machines the page faults
    of a new 400 kB array cost as much as sorting it.
    """

    def __init__(self, size: int) -> None:
        self._x32 = np.empty(size, np.float32)
        self._key = np.empty(size, np.int32)
        self._shifted = np.empty(size, np.int32)
        self._low_digit = np.empty(size, np.uint16)
        self._high_digit = np.empty(size, np.int16)
        self._sorted = {
            np.dtype(np.float32): np.empty(size, np.float32),
            np.dtype(np.float64): np.empty(size, np.float64),
        }
        self._lowest = np.empty(size, bool)
        self._new = np.empty(size, bool)
        self._run = np.empty(size, np.int64)
        self._positions = np.arange(size, dtype=np.float64)

    def rank(
        self, x: np.ndarray, order_out: np.ndarray, ranks_out: np.ndarray
    ) -> tuple[np.ndarray, float] | None:
        """Rank a map: its sort order and the sum of squared ranks (None: NaN or constant).

        The doubled, centred ranks in sorted order go to ``ranks_out``; the order is
        ``order_out`` or a new array.
        """
        if x.dtype not in self._sorted:
            x = x.astype(np.float64)
        n = x.size
        lowest = x.min()
        if lowest != lowest:
            return None
        low = self._lowest[:n]
        np.equal(x, lowest, out=low)
        n_low = int(np.count_nonzero(low))
        if n_low == n:
            return None
        if n_low * _LOW_SHARE < n:
            return self._sort(x, ranks_out[:n], 0)
        keep = np.flatnonzero(~low)
        sub_order, sum_squares = self._sort(x.take(keep), ranks_out[n_low:n], n_low)
        order_out[:n_low] = np.flatnonzero(low)
        np.take(keep, sub_order, out=order_out[n_low:n])
        ranks_out[:n_low] = n_low - n
        return order_out[:n], sum_squares + n_low * float(n_low - n) ** 2

    def _sort(self, x: np.ndarray, ranks: np.ndarray, shift: int) -> tuple[np.ndarray, float]:
        """Stable order of x; its doubled centred ranks plus shift go to ranks, in order."""
        n = x.size
        x32, key, shifted = self._x32[:n], self._key[:n], self._shifted[:n]
        with np.errstate(over="ignore"):  # float64 beyond float32: inf, re-sorted below
            np.add(x, np.float32(0), out=x32, casting="unsafe")  # also turns -0.0 into 0.0
        bits = x32.view(np.int32)
        np.right_shift(bits, 31, out=shifted)
        np.bitwise_and(shifted, np.int32(0x7FFFFFFF), out=shifted)
        np.bitwise_xor(bits, shifted, out=key)  # an int32 that orders like the float32
        low_digit, high_digit = self._low_digit[:n], self._high_digit[:n]
        np.copyto(low_digit, key, casting="unsafe")
        np.right_shift(key, 16, out=shifted)
        np.copyto(high_digit, shifted, casting="unsafe")
        order = np.lexsort((low_digit, high_digit))  # two stable radix passes
        xs = self._sorted[x.dtype][:n]
        np.take(x, order, out=xs)
        if x.dtype != np.float32 and (xs[1:] < xs[:-1]).any():
            _resort_rounded(order, xs, x32.take(order))
        new = self._new[:n]
        new[0] = True
        np.not_equal(xs[1:], xs[:-1], out=new[1:])
        if new.all():
            np.multiply(self._positions[:n], 2, out=ranks)
            ranks += 1 - n + shift
            return order, (n**3 - n) / 3 + n * float(shift) ** 2
        run = self._run[:n]
        np.cumsum(new, out=run)
        run -= 1
        size = np.bincount(run)
        doubled = np.cumsum(size)
        doubled -= size
        doubled *= 2
        doubled += size + (shift - n)
        np.take(doubled.astype(np.float64), run, out=ranks)
        return order, float(np.dot(size, doubled * doubled))


def _resort_rounded(order: np.ndarray, xs: np.ndarray, rounded: np.ndarray) -> None:
    """Sort exactly, in place, the groups of values that round to the same float32."""
    group = np.empty(xs.size, np.int64)
    group[0] = 0
    np.cumsum(rounded[1:] != rounded[:-1], out=group[1:])
    bad = np.zeros(group[-1] + 1, bool)
    bad[group[1:][xs[1:] < xs[:-1]]] = True
    selected = np.flatnonzero(bad[group])
    within = np.lexsort((xs[selected], group[selected]))
    order[selected] = order[selected][within]
    xs[selected] = xs[selected][within]


def spearman_rows(
    a: np.ndarray, b: np.ndarray, a_index: np.ndarray, b_index: np.ndarray
) -> np.ndarray:
    """Rho between rows a[a_index[k]] and b[b_index[k]] of two (maps, pixels) arrays.

    NaN where either row holds NaN or is constant, and for maps of fewer than 2 pixels.
    """
    rho = np.full(len(a_index), np.nan)
    n = a.shape[1]
    if n < 2:
        return rho
    ranker = MapRanker(n)
    order_a, ranks_a = np.empty(n, np.int64), np.empty(n)
    order_b, ranks_b = np.empty(n, np.int64), np.empty(n)
    scattered, gathered = np.empty(n), np.empty(n)
    for k, (i, j) in enumerate(zip(a_index.tolist(), b_index.tolist(), strict=True)):
        ranked_a = ranker.rank(a[i], order_a, ranks_a)
        if ranked_a is None:
            continue
        ranked_b = ranker.rank(b[j], order_b, ranks_b)
        if ranked_b is None:
            continue
        (sorted_a, squares_a), (sorted_b, squares_b) = ranked_a, ranked_b
        scattered[sorted_b] = ranks_b
        # einsum, not BLAS: a multithreaded BLAS call per pair costs more than the sum.
        np.take(scattered, sorted_a, out=gathered)
        cross = np.einsum("i,i->", ranks_a, gathered)
        rho[k] = min(max(cross / math.sqrt(squares_a * squares_b), -1.0), 1.0)
    return rho
