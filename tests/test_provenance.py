"""Provenance records: what made an output, written beside it and read back."""

from pathlib import Path

import pytest

from restorebench import __version__
from restorebench.runtime import provenance


def test_a_record_names_the_release_the_code_and_the_settings(tmp_path):
    entry = provenance.record("abc123", {"size": 16, "folder": Path("raw")})
    path = tmp_path / "models" / "gan" / "provenance.json"
    provenance.write(path, entry)
    read = provenance.read(path)
    assert read["restorebench"] == __version__ and read["code"] == "abc123"
    assert read["settings"] == {"size": 16, "folder": "raw"}
    assert "numpy" in read["versions"]
    assert provenance.describe(read) == f"restorebench {__version__}, code abc123"


@pytest.mark.parametrize("content", [None, ""])
def test_an_output_without_a_record_reads_as_none(tmp_path, content):
    """Made before records existed, or an empty file from `snakemake --touch`."""
    path = tmp_path / "provenance.json"
    if content is not None:
        path.write_text(content)
    assert provenance.read(path) is None
    assert "not recorded" in provenance.describe(None)


@pytest.mark.parametrize("content", ["{cut", "[1, 2]"])
def test_a_broken_record_is_named(tmp_path, content):
    path = tmp_path / "provenance.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=f"{path}: not a provenance record"):
        provenance.read(path)
