"""Helpers shared by the tests: hand-built trial tables and an independent CSV reader."""

from __future__ import annotations

import contextlib
import csv
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from psychoalign.datasets import data_dir

HUMAN_RAW = data_dir() / "model-vs-human" / "human-raw"


def _shared_data() -> Path:
    """The project's shared real data (``../shared/data`` beside the checkout).

    Found through ``$PSYCHOALIGN_SHARED_DATA``, then ``shared/data`` beside or inside the
    checkout. Missing data is a failure, never a skip: the tests that use it are the
    known answers of the published formats.
    """
    root = Path(__file__).resolve().parents[1]
    candidates = [root.parent / "shared" / "data", root / "shared" / "data"]
    if "PSYCHOALIGN_SHARED_DATA" in os.environ:
        candidates.insert(0, Path(os.environ["PSYCHOALIGN_SHARED_DATA"]))
    return next((c for c in candidates if c.is_dir()), candidates[0])


#: Real published data that is not bundled (see ``../shared/data/README.md``).
SHARED_DATA = _shared_data()


def make_trials(rows: list[tuple], experiment: str = "toy", condition: str = "0") -> pd.DataFrame:
    """Trial table from (observer, kind, image, category, response) tuples, in order."""
    frame = pd.DataFrame(
        rows, columns=["observer", "observer_kind", "image", "category", "response"]
    )
    frame.insert(0, "experiment", experiment)
    frame["session"] = 1
    frame["trial"] = frame.groupby("observer").cumcount() + 1
    frame["stimulus"] = frame["image"]
    frame["condition"] = condition
    frame["correct"] = frame["response"] == frame["category"]
    frame["rt"] = float("nan")
    columns = [
        "experiment",
        "observer",
        "observer_kind",
        "session",
        "trial",
        "stimulus",
        "image",
        "condition",
        "category",
        "response",
        "correct",
        "rt",
    ]
    return frame[columns]


def raw_rows(path: Path) -> list[dict[str, str]]:
    """A model-vs-human CSV read with the standard library (independent of psychoalign)."""
    with open(path, newline="") as handle:
        return [{k.lower(): v for k, v in row.items()} for row in csv.DictReader(handle)]


def headless_chromium(profile: Path, *arguments: str):
    """Debian's Chromium under selenium, headless, offline, with a profile folder of its own.

    ``arguments`` are added to Chromium's command line (window size, device scale).
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    for program in ("/usr/bin/chromium", "/usr/bin/chromedriver"):
        if not Path(program).exists():
            pytest.fail(
                f"{program} is missing: install the Debian packages 'chromium' and "
                "'chromium-driver' (make setup does).",
                pytrace=False,
            )
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-quic",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        *arguments,
    ):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def images_in_browser(page: Path) -> list[dict]:
    """Open a local HTML file in headless Chromium and describe every <img> once loaded."""
    import tempfile

    with tempfile.TemporaryDirectory() as profile:
        driver = headless_chromium(Path(profile))
        try:
            driver.get(page.resolve().as_uri())
            return driver.execute_script(
                "return Array.from(document.images).map(i => ({alt: i.alt, complete: i.complete, "
                "width: i.naturalWidth, height: i.naturalHeight, "
                "shown: i.getBoundingClientRect().width}))"
            )
        finally:
            driver.quit()


def metamer_trials() -> pd.DataFrame:
    # Two participants and one model; 4 natural images and their 4 metamers at each of
    # two layers (features.2, features.10) of model "net".
    correct = {
        ("s1", "natural"): [1, 1, 1, 1],
        ("s1", "features.2"): [1, 1, 1, 0],
        ("s1", "features.10"): [0, 0, 0, 1],
        ("s2", "natural"): [1, 1, 1, 0],
        ("s2", "features.2"): [1, 0, 1, 0],
        ("s2", "features.10"): [0, 0, 0, 0],
        ("resnet", "natural"): [1, 1, 1, 1],
        ("resnet", "features.2"): [1, 1, 0, 0],
        ("resnet", "features.10"): [1, 0, 0, 0],
    }
    rows = [
        ("net-metamers", observer, "model" if observer == "resnet" else "human", layer, i, bool(c))
        for (observer, layer), values in correct.items()
        for i, c in enumerate(values)
    ]
    return pd.DataFrame(
        rows, columns=["experiment", "observer", "observer_kind", "condition", "image", "correct"]
    )


def clickme_trials(frame: pd.DataFrame, observer: str, clicks: list[str]) -> pd.DataFrame:
    """One human's ClickMe session over a set's ``frame``: every image once, answered right.

    ``clicks`` holds one JSON list of ``{row, col, t}`` clicks per row of ``frame``, on
    224 x 224 images.
    """
    return frame[["stimulus", "image", "condition", "category"]].assign(
        experiment="clickme",
        observer=observer,
        observer_kind="human",
        session=1,
        trial=range(1, len(frame) + 1),
        response=frame["category"],
        correct=True,
        rt=1.5,
        clicks=clicks,
        image_height=224,
        image_width=224,
    )


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[tuple[str, list[str]]]:
    """Serve ``folder`` on a loopback port; yield its URL and the list of requested paths."""
    requested: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(folder), **kwargs)

        def do_GET(self):
            requested.append(self.path)
            super().do_GET()

        protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/", requested
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
