"""Hand-made ClickMe data for the clickmaps tests: trial tables, click tables, references."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
from scipy import ndimage

from psychoalign.metrics.clickmaps import click_table
from psychoalign.metrics.clickmaps.clicks import CLICK_COLUMNS

SIZE = 32
_YY, _XX = np.mgrid[:SIZE, :SIZE]


def trials(rows: list[tuple], height: int = 11, width: int = 11) -> pd.DataFrame:
    """Trial table from (observer, image, category, [(row, col), ...]) tuples."""
    records = []
    for observer, image, category, clicks in rows:
        objects = [
            {"row": int(r), "col": int(c), "t": 0.5 * (k + 1), "model_response": "cat"}
            for k, (r, c) in enumerate(clicks)
        ]
        records.append(
            {
                "observer": observer,
                "image": image,
                "stimulus": f"{observer}_{image}",
                "category": category,
                "image_height": height,
                "image_width": width,
                "clicks": json.dumps(objects),
                "response": "cat",
            }
        )
    return pd.DataFrame(records)


def clicks(rows: list[tuple], height: int = 11, width: int = 11) -> pd.DataFrame:
    return click_table(trials(rows, height, width))


def disc_by_hand(diameter: int) -> np.ndarray:
    """Pixels whose centre lies within diameter / 2 of the centre, one by one."""
    radius = diameter // 2
    disc = np.zeros((diameter, diameter))
    for i in range(diameter):
        for j in range(diameter):
            if math.hypot(i - radius, j - radius) <= diameter / 2:
                disc[i, j] = 1.0
    return disc


def convolve_by_loops(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Zero-padded convolution with explicit loops (the kernels here are symmetric)."""
    height, width = image.shape
    radius = kernel.shape[0] // 2
    out = np.zeros_like(image)
    for y in range(height):
        for x in range(width):
            total = 0.0
            for dy in range(-radius, radius + 1):
                for dx in range(-radius, radius + 1):
                    if 0 <= y + dy < height and 0 <= x + dx < width:
                        total += kernel[radius + dy, radius + dx] * image[y + dy, x + dx]
            out[y, x] = total
    return out


def blurred_clicks(rng: np.random.Generator, n: int, size: int = 40) -> np.ndarray:
    """Sparse click counts blurred twice: many exact zeros and many ties."""
    kernel = disc_by_hand(7)
    maps = np.zeros((n, size, size))
    for index in range(n):
        counts = np.zeros((size, size))
        np.add.at(counts, tuple(rng.integers(5, size - 5, (2, 6))), 1)
        maps[index] = (
            ndimage.convolve(
                ndimage.convolve(counts, kernel, mode="constant"), kernel, mode="constant"
            )
            / 7
        )
    return maps


def blob(row: float, col: float, sigma: float) -> np.ndarray:
    values = np.exp(-((_YY - row) ** 2 + (_XX - col) ** 2) / (2 * sigma**2))
    return values / values.sum()


def simulate(probability, n_people: int, n_images: int, k: int, seed: int) -> pd.DataFrame:
    """Participants making k clicks each (with replacement) from a known pixel probability."""
    rng = np.random.default_rng(seed)
    probabilities = probability if isinstance(probability, list) else [probability] * n_images
    records = []
    for image, p in enumerate(probabilities):
        for person in range(n_people):
            for click, pixel in enumerate(rng.choice(SIZE * SIZE, size=k, p=p.ravel())):
                records.append(
                    (
                        f"s{person}",
                        f"img{image:02d}",
                        "x",
                        pixel // SIZE,
                        pixel % SIZE,
                        0.5,
                        click + 1,
                        SIZE,
                        SIZE,
                    )
                )
    return pd.DataFrame(records, columns=list(CLICK_COLUMNS))
