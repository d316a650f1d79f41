"""Reading and writing stimulus images: 8-bit RGB or grayscale PNGs <-> float arrays in [0, 1].

Every image inside psychoalign is a float64 array of shape (height, width, 3) with values in
[0, 1]; grayscale images keep three equal channels, as the stimuli of Geirhos et al. did.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from psychoalign.errors import StimulusSetError

__all__ = ["StimulusSetError", "encode_png", "read_image", "read_pixels", "to_uint8", "write_png"]

_ACCEPTED_MODES = {"RGB": "8-bit RGB", "L": "8-bit grayscale"}
_MODE_NAMES = {
    "P": "palette",
    "PA": "palette with alpha",
    "RGBA": "RGB with alpha",
    "LA": "grayscale with alpha",
    "I;16": "16-bit grayscale",
    "I;16B": "16-bit grayscale",
    "I;16L": "16-bit grayscale",
    "I": "32-bit integer",
    "F": "32-bit float",
    "1": "1-bit",
    "CMYK": "CMYK",
    "YCbCr": "YCbCr",
}


def read_image(path: str | os.PathLike[str], dtype: type = np.float64) -> np.ndarray:
    """Read an 8-bit RGB or grayscale image as a float array (height, width, 3) in [0, 1].

    ``dtype`` is the float type of the result. Refuses what :func:`read_pixels` refuses.
    """
    return read_pixels(path).astype(dtype) / dtype(255.0)


def read_pixels(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an 8-bit RGB or grayscale image as uint8 (height, width, 3).

    Raises
    ------
    StimulusSetError
        The file is missing, unreadable, truncated, not an image, or has another mode
        (palette, alpha, 16-bit, ...): psychoalign refuses to guess how to convert it.
    """
    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode
            if mode not in _ACCEPTED_MODES:
                kind = _MODE_NAMES.get(mode, f"mode {mode!r}")
                raise StimulusSetError(
                    f"{path}: is a {kind} image; stimuli must be 8-bit RGB or grayscale "
                    "without alpha (convert it first, e.g. with Image.convert('RGB'))."
                )
            pixels = np.asarray(image, dtype=np.uint8)
    except FileNotFoundError:
        raise StimulusSetError(f"{path}: file not found.") from None
    except UnidentifiedImageError:
        raise StimulusSetError(f"{path}: is not an image file Pillow can read.") from None
    except (OSError, SyntaxError, ValueError) as error:
        if isinstance(error, StimulusSetError):
            raise
        raise StimulusSetError(f"{path}: cannot be decoded ({error}); is it truncated?") from None
    if pixels.ndim == 2:
        pixels = np.broadcast_to(pixels[:, :, None], (*pixels.shape, 3))
    return pixels


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Round a [0, 1] float image to 8-bit values (values outside are clipped)."""
    scaled = np.clip(image, 0.0, 1.0)  # a new array: ``image`` is left unchanged
    if scaled.dtype.kind != "f":
        return np.round(scaled * 255.0).astype(np.uint8)
    scaled *= 255.0  # in place: the same values as a new array, without its allocation
    return np.round(scaled, out=scaled).astype(np.uint8)


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of a float image; three equal channels are written as one gray channel.

    A luminance image (height, width) is written as one gray channel too.
    """
    pixels = to_uint8(image)
    if pixels.ndim == 3 and (pixels == pixels[:, :, :1]).all():
        pixels = pixels[:, :, 0]
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def write_png(image: np.ndarray, path: str | os.PathLike[str]) -> bytes:
    """Write a float image as PNG and return the bytes written."""
    data = encode_png(image)
    Path(path).write_bytes(data)
    return data
