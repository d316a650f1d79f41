from __future__ import annotations

import json

import pandas as pd
import pytest

from psychoalign.provenance import file_sha256, provenance, write_outputs


class Unwritable:
    def __str__(self) -> str:
        raise OSError("disk full")


def test_sha256_of_a_known_file(tmp_path):
    path = tmp_path / "abc.txt"
    path.write_bytes(b"abc")
    # FIPS 180-2, appendix B.1
    assert file_sha256(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_outputs_come_with_sidecars(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("x\n1\n")
    record = provenance([source], {"seed": 7})
    written = write_outputs({"table": pd.DataFrame({"a": [1, 2]})}, tmp_path / "out", record)
    assert [p.name for p in written] == ["table.csv"]
    sidecar = json.loads((tmp_path / "out" / "table.json").read_text())
    assert sidecar["parameters"] == {"seed": 7}
    assert sidecar["inputs"][0]["sha256"] == file_sha256(source)
    assert sidecar["rows"] == 2 and sidecar["versions"]["psychoalign"]


def test_a_failed_write_leaves_nothing(tmp_path):
    tables = {"good": pd.DataFrame({"a": [1]}), "bad": pd.DataFrame({"a": [Unwritable()]})}
    with pytest.raises(OSError, match=r"disk full"):
        write_outputs(tables, tmp_path / "out", provenance())
    assert list(tmp_path.iterdir()) == []
