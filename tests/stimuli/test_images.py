from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from psychoalign.datasets import stimulus_set
from psychoalign.stimuli import StimulusSetError, read_image, to_uint8, write_png


@pytest.mark.parametrize(
    ("mode", "make", "kind"),
    [
        ("P", lambda: Image.new("P", (8, 8)), "palette"),
        ("RGBA", lambda: Image.new("RGBA", (8, 8)), "RGB with alpha"),
        ("LA", lambda: Image.new("LA", (8, 8)), "grayscale with alpha"),
        ("I;16", lambda: Image.fromarray(np.zeros((8, 8), dtype=np.uint16)), "16-bit grayscale"),
    ],
)
def test_other_modes_are_refused(tmp_path, mode, make, kind):
    path = tmp_path / f"{mode.replace(';', '')}.png"
    make().save(path)
    with pytest.raises(
        StimulusSetError, match=rf"{path.name}: is a {kind} image; stimuli must be 8-bit RGB"
    ):
        read_image(path)


def test_truncated_and_non_image_files_are_refused(tmp_path):
    source = stimulus_set("edge").file("oven/oven10.png").read_bytes()
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(source[: len(source) // 2])
    with pytest.raises(StimulusSetError, match=r"truncated\.png: cannot be decoded"):
        read_image(truncated)
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(StimulusSetError, match=r"notes\.png: is not an image file"):
        read_image(text)
    with pytest.raises(StimulusSetError, match=r"absent\.png: file not found"):
        read_image(tmp_path / "absent.png")


def test_grayscale_files_read_as_three_equal_channels(tmp_path):
    path = tmp_path / "gray.png"
    Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8)).save(path)
    image = read_image(path)
    assert image.shape == (8, 8, 3) and (image == image[..., :1]).all()
    assert image[0, 1, 0] == 1 / 255


def test_8_bit_images_round_trip_exactly(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (9, 7, 3)).astype(np.uint8)
    write_png(pixels / 255, tmp_path / "x.png")
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "x.png")), pixels)
    gray = np.repeat(pixels[..., :1], 3, axis=2) / 255
    write_png(gray, tmp_path / "g.png")
    assert Image.open(tmp_path / "g.png").mode == "L"
    np.testing.assert_array_equal(read_image(tmp_path / "g.png"), gray)


def test_to_uint8_rounds_and_clips_and_leaves_its_input_unchanged():
    values = [[-0.2, 0.0, 0.25, 0.5, 1.0, 1.7]]  # 0.25 * 255 = 63.75, 0.5 * 255 = 127.5
    for dtype in (np.float64, np.float32):
        image = np.array(values, dtype=dtype)
        np.testing.assert_array_equal(to_uint8(image), [[0, 0, 64, 128, 255, 255]])
        np.testing.assert_array_equal(image, np.array(values, dtype=dtype))
    np.testing.assert_array_equal(to_uint8(np.array([0, 1, 2])), [0, 255, 255])
