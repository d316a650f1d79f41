"""Contact sheets: a grid of stimuli, images by condition, for checking a set by eye."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageFont

from psychoalign.stimuli.images import StimulusSetError, read_image, to_uint8
from psychoalign.stimuli.stimulus_set import StimulusSet

__all__ = ["contact_sheet"]

_LABEL_HEIGHT = 18
_LABEL_WIDTH = 120
_GAP = 4


def contact_sheet(
    stimuli: StimulusSet,
    out: str | os.PathLike[str],
    *,
    n_images: int = 8,
    cell: int = 112,
) -> pd.DataFrame:
    """Draw ``n_images`` source images (one per category first) across every condition.

    Parameters
    ----------
    stimuli
        The stimulus set.
    out
        PNG file of the sheet; the table behind it is written next to it as CSV.
    n_images
        Rows of the sheet: images chosen in manifest order, covering as many categories
        as possible.
    cell
        Size in pixels of each thumbnail.

    Returns
    -------
    pandas.DataFrame
        ``row, column, image, category, condition, stimulus`` of every cell drawn (also
        written to ``<out>.csv``).
    """
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise StimulusSetError(f"{out}: a contact sheet is written as .png.")
    manifest = stimuli.manifest
    firsts = manifest.drop_duplicates("image")
    chosen = pd.concat([firsts.drop_duplicates("category"), firsts]).drop_duplicates("image")
    images = chosen["image"].head(n_images).tolist()
    conditions = stimuli.conditions
    cells = manifest[manifest["image"].isin(images)].copy()
    cells["row"] = cells["image"].map({image: i for i, image in enumerate(images)})
    cells["column"] = cells["condition"].map({c: j for j, c in enumerate(conditions)})
    cells = cells.sort_values(["row", "column"])
    width = _LABEL_WIDTH + len(conditions) * (cell + _GAP)
    height = _LABEL_HEIGHT + len(images) * (cell + _GAP)
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for j, condition in enumerate(conditions):
        draw.text(
            (_LABEL_WIDTH + j * (cell + _GAP) + 2, 2), str(condition), fill="black", font=font
        )
    for i, image in enumerate(images):
        draw.text(
            (2, _LABEL_HEIGHT + i * (cell + _GAP) + cell // 2), image[:18], fill="black", font=font
        )
    for entry in cells.itertuples(index=False):
        pixels = to_uint8(read_image(stimuli.file(entry.stimulus)))
        thumbnail = Image.fromarray(np.ascontiguousarray(pixels)).resize(
            (cell, cell), Image.BILINEAR
        )
        sheet.paste(
            thumbnail,
            (
                _LABEL_WIDTH + entry.column * (cell + _GAP),
                _LABEL_HEIGHT + entry.row * (cell + _GAP),
            ),
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    table = cells[["row", "column", "image", "category", "condition", "stimulus"]].reset_index(
        drop=True
    )
    table.to_csv(out.with_suffix(".csv"), index=False)
    return table
