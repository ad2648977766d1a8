"""The one reader and the one atomic writer of tables."""

from __future__ import annotations

import pandas as pd
import pytest

from features.io import read_table, write_table


def test_csv_reads_crlf_with_only_empty_as_missing(tmp_path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(b"id,source,visits\r\n1,Google,3\r\n2,,\r\n3,None,NA\r\n")
    table = read_table(path)
    assert list(table.columns) == ["id", "source", "visits"]
    assert table["source"].isna().tolist() == [False, True, False]
    assert table["source"].tolist()[2] == "None"
    assert table["visits"].tolist()[2] == "NA"
    assert not any("\r" in str(value) for value in table.to_numpy().ravel())


def test_parquet_is_read_and_other_files_rejected(tmp_path) -> None:
    table = pd.DataFrame({"id": [1, 2], "source": ["a", None]})
    table.to_parquet(tmp_path / "leads.parquet")
    pd.testing.assert_frame_equal(read_table(tmp_path / "leads.parquet"), table)
    with pytest.raises(ValueError, match="unsupported file type"):
        read_table(tmp_path / "leads.xlsx")


def test_a_failed_write_leaves_no_file_behind(tmp_path, monkeypatch) -> None:
    table = pd.DataFrame({"id": [1, 2]})
    write_table(table, tmp_path / "scores.csv")

    def broken(self, path, **_) -> None:
        with open(path, "w") as handle:
            handle.write("half")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        write_table(pd.DataFrame({"id": [3]}), tmp_path / "scores.csv")
    assert [path.name for path in tmp_path.iterdir()] == ["scores.csv"]
    monkeypatch.undo()
    assert read_table(tmp_path / "scores.csv")["id"].tolist() == [1, 2]
    with pytest.raises(ValueError, match="must end in .csv or .parquet"):
        write_table(table, tmp_path / "scores.txt")
