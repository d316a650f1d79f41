r"""The ranking kernel behind Spearman's rho over pixels: exact average ranks, compiled.

Each map is ranked once. Its pixels other than the lowest value (0 in a click map, often
most of the map) get a 32-bit key that orders like their value, packed with the pixel
index into 64 bits and sorted by a radix sort (two passes of 14 bits when the keys span
less than :math:`2^{28}`, as those of click and saliency maps do, else three); runs of
equal keys get the average of their positions, found without branches (a backward pass
marks where each position's run ends, a forward pass where it starts), which costs less
than branching on every run of a map of mostly distinct values. Digit counts go to two
tables by word parity, as neighbouring pixels often share a digit and a chain of
increments of one count is slow. Keys are exact for float32 maps and for
integer maps spanning less than :math:`2^{32}` (the value minus the lowest); other maps
get the value as float32, and a run whose keys are equal but whose values differ (two
float64 values that round to the same float32) is re-sorted by the values themselves.
Ranks are doubled and centred,

.. math:: r_k = f_k + l_k + 1 - P

(:math:`f_k, l_k` the first and last 0-based sorted position of pixel :math:`k`'s tie
group among :math:`P` pixels), so they are integers and every sum of their products is
exact in float64 up to about 300,000 pixels. Rho of two ranked maps is one dot product,
:math:`\sum_k r^a_k r^b_k / \sqrt{\sum_k (r^a_k)^2 \sum_k (r^b_k)^2}`.

The kernels are compiled by numba on first use and cached on disk; they release the GIL,
so blocks of maps are ranked on several threads at once: ``OMP_NUM_THREADS`` of them
where it is set (as a sweep's workers and most batch jobs set it), else one per core this
process may run on. This module imports numba, so it is imported inside the functions
that compute rho, not at start-up.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from psychoalign.errors import ClickMapError

__all__ = ["rank_rows", "ranked_rho", "spearman_pairs", "spearman_ranked", "threads"]

# Pairs handed to a compiled loop at once (bounds the copy of a non-contiguous input).
_PAIR_BLOCK = 256
# Fewest pairs worth a thread of their own (starting one costs about a pair's ranking).
_MIN_THREAD_PAIRS = 4
# Bits per radix digit: 14 (two passes) for keys spanning under 2**28, else 11 (three).
_WIDE_BITS, _DIGIT_BITS = 14, 11
# Kinds of map: float32 (exact keys), other floats (keys checked), integers.
_FLOAT32, _FLOAT, _INTEGER = 0, 1, 2

_jit = numba.njit(cache=True, nogil=True)


@_jit
def _row_keys(x, kind, ranks, keys, index):  # pragma: no cover - compiled
    """Sortable keys and indices of the pixels above the lowest value.

    Returns (number of such pixels or -1 if x holds NaN, whether the keys are exact);
    the lowest pixels get their doubled centred rank in ``ranks``.
    """
    n = x.size
    lowest, highest = x[0], x[0]
    for i in range(n):
        v = x[i]
        if v != v:
            return -1, False
        lowest = min(lowest, v)
        highest = max(highest, v)
    integer = kind == _INTEGER and np.float64(highest) - np.float64(lowest) < 4294967295.0
    values = keys.view(np.float32)
    m = 0
    for i in range(n):  # branch-free: mispredicted branches cost more than the stores
        v = x[i]
        if integer:
            keys[m] = np.uint32(np.int64(v) - np.int64(lowest))
        else:
            values[m] = np.float32(v) + np.float32(0.0)  # also turns -0.0 into 0.0
        index[m] = i
        m += v != lowest
    low_rank = np.int32(-m)  # f + l + 1 - P with f = 0, l = n_low - 1 = n - m - 1
    for i in range(n):  # a select, not a conditional store (masked stores are slow)
        ranks[i] = low_rank if x[i] == lowest else ranks[i]
    if not integer:
        sign = np.uint32(0x80000000)
        for j in range(m):
            k = keys[j]
            keys[j] = ~k if k & sign else k | sign  # an unsigned int ordered like the float
    return m, integer or kind == _FLOAT32


@_jit
def _packed_counts(keys, index, packed, counts, m):  # pragma: no cover - compiled
    """Keys less the lowest key, packed above their index; digit counts and digit width.

    Two passes of 14 bits when the keys span less than 2**28 (they usually do), else
    three of 11 bits. Returns (bits per digit, number of passes).
    """
    lowest, highest = keys[0], keys[0]
    for j in range(m):
        lowest = min(lowest, keys[j])
        highest = max(highest, keys[j])
    narrow = highest - lowest < np.uint32(1 << (2 * _WIDE_BITS))
    bits, passes = (_WIDE_BITS, 2) if narrow else (_DIGIT_BITS, 3)
    mask, step = np.uint64((1 << bits) - 1), np.uint64(bits)
    counts[:, : 1 << bits] = 0
    if narrow:  # even and odd words count into separate tables: neighbouring pixels often
        for j in range(m):  # share a digit, and a chain of increments of one count is slow
            key = np.uint64(keys[j] - lowest)
            packed[j] = (key << np.uint64(32)) | np.uint64(index[j])
            table = 2 * (j & 1)
            counts[table, key & mask] += 1
            counts[table + 1, (key >> step) & mask] += 1
        counts[:2] += counts[2:]
        return bits, passes
    for j in range(m):
        key = np.uint64(keys[j] - lowest)
        packed[j] = (key << np.uint64(32)) | np.uint64(index[j])
        counts[0, key & mask] += 1
        counts[1, (key >> step) & mask] += 1
        counts[2, key >> (step + step)] += 1
    return bits, passes


@_jit
def _radix_sort(packed, spare, counts, m, bits, passes):  # pragma: no cover - compiled
    """LSD radix sort of packed[:m] on the key bits (the upper 32); returns the buffer."""
    mask = np.uint64((1 << bits) - 1)
    source, target = packed, spare
    for digit in range(passes):
        shift = np.uint64(32 + digit * bits)
        count = counts[digit]
        if count[(source[0] >> shift) & mask] == m:
            continue  # every key has this digit: the pass would not move anything
        total = 0
        for d in range(1 << bits):
            size = count[d]
            count[d] = total
            total += size
        for j in range(m):
            word = source[j]
            d = (word >> shift) & mask
            position = count[d]
            count[d] = position + 1
            target[position] = word
        source, target = target, source
    return source


@_jit
def _split_run(x, pixels, offset, ranks):  # pragma: no cover - compiled
    """Sort a run of equal keys by the values themselves and rank its tie groups.

    ``pixels`` are the run's pixel indices and ``offset`` the rank of a one-pixel group
    at its start, less 1. Returns the sum of the squared doubled ranks given.
    """
    size = pixels.size
    values = np.empty(size, x.dtype)
    for j in range(size):
        values[j] = x[pixels[j]]
    order = np.argsort(values)
    squares = np.int64(0)
    first = 0
    for j in range(1, size + 1):
        if j == size or values[order[j]] != values[order[first]]:
            rank = offset + first + j
            for q in range(first, j):
                ranks[pixels[order[q]]] = rank
            squares += np.int64(rank) * rank * (j - first)
            first = j
    return squares


@_jit
def _walk_distinct(x, words, m, offset, ranks, ends, check):  # pragma: no cover - compiled
    """Ranks of sorted words[:m] into ranks; the sum of their squares.

    Without branches, which cost more than two passes where runs are short (a model map
    of mostly distinct values): a backward pass finds where each position's run ends,
    a forward pass where it starts. Returns -1, having written nothing, when ``check``
    finds a run of equal keys whose values differ (the caller re-sorts such runs).
    """
    up, low_bits = np.uint64(32), np.uint64(0xFFFFFFFF)
    end, following = m, words[m - 1] >> up
    value, mixed = x[words[m - 1] & low_bits], False
    for j in range(m - 1, -1, -1):
        key = words[j] >> up
        if check:
            mixed |= key == following and x[words[j] & low_bits] != value
            value = x[words[j] & low_bits]
        end = end if key == following else j + 1
        ends[j] = end
        following = key
    if mixed:
        return np.int64(-1)
    squares, start = np.int64(0), 0
    for j in range(m):
        start = j if ends[j - 1] == j else start  # ends[-1] is m: no run ends before 0
        rank = offset + start + ends[j]
        ranks[words[j] & low_bits] = rank
        squares += np.int64(rank) * rank
    return squares


@_jit
def _rank_row(x, kind, ranks, scratch, counts):  # pragma: no cover - compiled
    """Doubled centred average ranks of x, in pixel order; the sum of their squares.

    Returns 0 (no valid ranks) where x holds NaN or is constant.
    """
    n = x.size
    keys, index = scratch[0].view(np.uint32)[:n], scratch[0].view(np.uint32)[n:]
    m, exact = _row_keys(x, kind, ranks, keys, index)
    if m <= 0:
        return np.int64(0)
    n_low = n - m
    squares = np.int64(n_low) * (n_low - n) * (n_low - n)
    bits, passes = _packed_counts(keys, index, scratch[1], counts, m)
    words = _radix_sort(scratch[1], scratch[2], counts, m, bits, passes)
    offset = 2 * n_low - n  # r = f + l + 1 - P with f = n_low + start, l = n_low + stop - 1
    ends = scratch[0].view(np.int32)[:m]  # keys and index are packed: free for run ends
    walked = _walk_distinct(x, words, m, offset, ranks, ends, not exact)
    if walked >= 0:
        return squares + walked
    low_bits = np.uint64(0xFFFFFFFF)
    start = 0
    while start < m:
        key = words[start] >> np.uint64(32)
        stop = start + 1
        while stop < m and words[stop] >> np.uint64(32) == key:
            stop += 1
        if not exact and stop - start > 1:
            value = x[words[start] & low_bits]
            mixed = False
            for j in range(start + 1, stop):
                mixed |= x[words[j] & low_bits] != value
            if mixed:
                pixels = (words[start:stop] & low_bits).astype(np.int64)
                squares += _split_run(x, pixels, offset + 2 * start, ranks)
                start = stop
                continue
        rank = offset + start + stop
        for j in range(start, stop):
            ranks[words[j] & low_bits] = rank
        squares += np.int64(rank) * rank * (stop - start)
        start = stop
    return squares


@numba.njit(cache=True, nogil=True, fastmath=True)
def _dot(a, b):  # pragma: no cover - compiled
    """Sum of products of two int32 rank rows (exact while partial sums stay below 2**53)."""
    total = 0.0
    for i in range(a.size):
        total += np.float64(a[i]) * np.float64(b[i])
    return total


@_jit
def _rho(cross, squares_a, squares_b):  # pragma: no cover - compiled
    """Rho from the sums of products, clipped to [-1, 1]; NaN for an invalid map."""
    if squares_a == 0 or squares_b == 0:
        return np.nan
    return min(max(cross / np.sqrt(np.float64(squares_a) * np.float64(squares_b)), -1.0), 1.0)


@_jit
def _scratch(n):  # pragma: no cover - compiled
    """Keys with indices (then run ends), the packed words and their copy, the counts."""
    return np.empty((3, n), np.uint64), np.empty((4, 1 << _WIDE_BITS), np.int32)


@_jit
def _paired_rho(a, kind_a, b, kind_b, out):  # pragma: no cover - compiled
    """Rho between a[k] and b[k] for every k, each map ranked once."""
    n = a.shape[1]
    scratch, counts = _scratch(n)
    ranks_a = np.empty(n, np.int32)
    ranks_b = np.empty(n, np.int32)
    for k in range(a.shape[0]):
        squares_a = _rank_row(a[k], kind_a, ranks_a, scratch, counts)
        if squares_a == 0:
            out[k] = np.nan
            continue
        squares_b = _rank_row(b[k], kind_b, ranks_b, scratch, counts)
        out[k] = _rho(_dot(ranks_a, ranks_b), squares_a, squares_b)


@_jit
def _ranked_pairs_rho(ranks, squares, b, kind_b, out):  # pragma: no cover - compiled
    """Rho between ranked rows (ranks[k], squares[k]) and maps b[k]."""
    n = b.shape[1]
    scratch, counts = _scratch(n)
    ranks_b = np.empty(n, np.int32)
    for k in range(b.shape[0]):
        if squares[k] == 0:
            out[k] = np.nan
            continue
        squares_b = _rank_row(b[k], kind_b, ranks_b, scratch, counts)
        out[k] = _rho(_dot(ranks[k], ranks_b), squares[k], squares_b)


@_jit
def _rank_block(rows, kind, ranks, squares):  # pragma: no cover - compiled
    """Rank every row of rows into ranks (rows, pixels), sums of squares to squares."""
    scratch, counts = _scratch(rows.shape[1])
    for k in range(rows.shape[0]):
        squares[k] = _rank_row(rows[k], kind, ranks[k], scratch, counts)


@_jit
def _ranked_rho(ranks, squares, first, second, out):  # pragma: no cover - compiled
    """Rho between ranked rows first[k] and second[k] of ranks."""
    for k in range(first.size):
        i, j = first[k], second[k]
        out[k] = _rho(_dot(ranks[i], ranks[j]), squares[i], squares[j])


def threads() -> int:
    """Threads the kernels rank on: ``OMP_NUM_THREADS`` where set, else the usable cores.

    Of an OpenMP list such as ``4,2`` (threads per nesting level) the first is taken.
    """
    setting = os.environ.get("OMP_NUM_THREADS", "").strip()
    if not setting:
        usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
        return len(usable) if usable else os.cpu_count() or 1
    first = setting.split(",")[0].strip()
    if not first.isdigit() or int(first) < 1:
        raise ClickMapError(
            f"OMP_NUM_THREADS={setting!r}: the threads to compute with must be a whole "
            f"number of at least 1."
        )
    return int(first)


def _in_blocks(n_rows: int, work: Callable[[int, int], None]) -> None:
    """Call ``work(start, stop)`` over blocks of rows, on :func:`threads` threads."""
    workers = max(1, min(threads(), n_rows // _MIN_THREAD_PAIRS))
    size = max(1, min(_PAIR_BLOCK, -(-n_rows // workers)))
    blocks = [(start, min(start + size, n_rows)) for start in range(0, n_rows, size)]
    if workers == 1:
        for start, stop in blocks:
            work(start, stop)
        return
    with ThreadPoolExecutor(min(workers, len(blocks))) as pool:
        for future in [pool.submit(work, start, stop) for start, stop in blocks]:
            future.result()


def _native(rows: np.ndarray) -> tuple[np.ndarray, int]:
    """C-contiguous rows of a compiled type (float32, float64, int32, int64), and kind."""
    if rows.dtype.kind == "b" or rows.dtype in (np.int8, np.int16, np.uint8, np.uint16):
        rows = rows.astype(np.int32)
    elif rows.dtype == np.uint32:
        rows = rows.astype(np.int64)
    elif rows.dtype not in (np.float32, np.float64, np.int32, np.int64):
        rows = rows.astype(np.float64)  # float16 exactly; uint64 as float64
    kinds = {np.dtype(np.float32): _FLOAT32, np.dtype(np.float64): _FLOAT}
    return np.ascontiguousarray(rows), kinds.get(rows.dtype, _INTEGER)


def rank_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Doubled centred average ranks of each row, and the sums of their squares.

    Parameters
    ----------
    rows
        Maps as (maps, pixels), any real type.

    Returns
    -------
    tuple of numpy.ndarray
        ``ranks`` (int32, same shape, pixel order): :math:`f_k + l_k + 1 - P` per pixel;
        ``squares`` (int64): :math:`\sum_k r_k^2` per row, 0 for a row with NaN, a
        constant row or a row of one pixel (its ranks are then undefined).
    """
    rows = np.asarray(rows)
    ranks = np.empty(rows.shape, np.int32)
    squares = np.zeros(len(rows), np.int64)
    if rows.shape[1] < 2:
        return ranks, squares

    def rank(start: int, stop: int) -> None:
        block, kind = _native(rows[start:stop])
        _rank_block(block, kind, ranks[start:stop], squares[start:stop])

    _in_blocks(len(rows), rank)
    return ranks, squares


def ranked_rho(
    ranks: np.ndarray, squares: np.ndarray, first: np.ndarray, second: np.ndarray
) -> np.ndarray:
    """Rho between rows first[k] and second[k] of maps ranked by :func:`rank_rows`.

    NaN where either row holds NaN, is constant or has fewer than 2 pixels.
    """
    rho = np.empty(len(first))
    first, second = np.asarray(first, np.int64), np.asarray(second, np.int64)

    def correlate(start: int, stop: int) -> None:
        _ranked_rho(ranks, squares, first[start:stop], second[start:stop], rho[start:stop])

    _in_blocks(len(first), correlate)
    return rho


def spearman_ranked(ranks: np.ndarray, squares: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rho between maps ranked by :func:`rank_rows` (row k) and maps b[k] (maps, pixels).

    NaN where either map holds NaN, is constant or has fewer than 2 pixels.
    """
    rho = np.full(len(b), np.nan)
    if b.shape[1] < 2:
        return rho

    def correlate(start: int, stop: int) -> None:
        block, kind = _native(b[start:stop])
        _ranked_pairs_rho(ranks[start:stop], squares[start:stop], block, kind, rho[start:stop])

    _in_blocks(len(b), correlate)
    return rho


def spearman_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rho between rows a[k] and b[k] of two (maps, pixels) arrays of the same shape.

    NaN where either row holds NaN, is constant or has fewer than 2 pixels. Each map is
    ranked once, in scratch buffers reused over all pairs.
    """
    rho = np.full(len(a), np.nan)
    if a.shape[1] < 2:
        return rho

    def correlate(start: int, stop: int) -> None:
        block_a, kind_a = _native(a[start:stop])
        block_b, kind_b = _native(b[start:stop])
        _paired_rho(block_a, kind_a, block_b, kind_b, rho[start:stop])

    _in_blocks(len(a), correlate)
    return rho
