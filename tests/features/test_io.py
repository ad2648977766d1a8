"""The one reader of tables, and the atomic writers."""

from __future__ import annotations

import bz2
import gzip
import logging
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from features.io import ReadOptions, ReadReport, read_table, read_table_report
from features.write import write_table

LOG = "7,p1,view,2026-01-01\n7,p2,like,2026-01-02\n8,p1,view,2026-01-03\n"
LOG_FRAME = pd.DataFrame(
    {
        "user": [7, 7, 8],
        "item": ["p1", "p2", "p1"],
        "kind": ["view", "like", "view"],
        "day": ["2026-01-01", "2026-01-02", "2026-01-03"],
    }
)
HEADERLESS = ReadOptions(columns=("user", "item", "kind", "day"))


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

    def broken(self, handle, **_) -> None:
        handle.write("half")  # the writer's open file
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        write_table(pd.DataFrame({"id": [3]}), tmp_path / "scores.csv")
    assert [path.name for path in tmp_path.iterdir()] == ["scores.csv"]
    monkeypatch.undo()
    assert read_table(tmp_path / "scores.csv")["id"].tolist() == [1, 2]
    _chunks_are_one_table(tmp_path)
    with pytest.raises(ValueError, match="must end in .csv or .parquet"):
        write_table(table, tmp_path / "scores.txt")


@pytest.mark.parametrize("suffix", [".csv.gz", ".csv.bz2", ".csv.zst", ".tsv.gz"])
def test_compressed_text_round_trips(tmp_path, suffix) -> None:
    path = tmp_path / f"events{suffix}"
    text = "user,item,kind,day\n" + LOG
    if suffix.startswith(".tsv"):
        text = text.replace(",", "\t")
    with pa.output_stream(path) as out:  # compressed by the suffix
        out.write(text.encode())
    assert path.read_bytes()[:2] != b"us"
    pd.testing.assert_frame_equal(read_table(path), LOG_FRAME)


def test_stdlib_compressors_read_too(tmp_path) -> None:
    (tmp_path / "a.csv.gz").write_bytes(gzip.compress(b"\xef\xbb\xbfuser,n\r\n7,1\r\n"))
    (tmp_path / "b.csv.bz2").write_bytes(bz2.compress(b"user,n\n7,1\n"))
    for name in ("a.csv.gz", "b.csv.bz2"):
        table = read_table(tmp_path / name)
        assert list(table.columns) == ["user", "n"] and table.to_numpy().tolist() == [[7, 1]]


def test_semicolon_file_with_decimal_commas_is_sniffed(tmp_path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("id;amount;city\n1;3,5;Paris\n2;4,25;Lyon\n3;10;Saint-Denis, Réunion\n")
    table, report = read_table_report(path)
    assert table["amount"].tolist() == [3.5, 4.25, 10.0]
    assert table["city"].tolist() == ["Paris", "Lyon", "Saint-Denis, Réunion"]
    assert (report.delimiter, report.decimal, report.rows) == (";", ",", 3)
    assert report.describe() == [
        ("files", "leads.csv"),
        ("format", "delimiter ';', decimal comma, utf-8, header line"),
        ("malformed rows", "none"),
    ]


def test_tab_and_pipe_files_are_sniffed_or_given(tmp_path) -> None:
    tabs = tmp_path / "notes.txt"
    tabs.write_text("id\tnote\n1\thello, world\n2\tbye; now\n")
    assert read_table(tabs)["note"].tolist() == ["hello, world", "bye; now"]
    assert read_table_report(tabs)[1].describe()[1][1].startswith("delimiter tab,")
    pipes = tmp_path / "pipes.csv"
    pipes.write_text("id|note\n1|a,b\n2|c,d\n")
    assert read_table(pipes)["note"].tolist() == ["a,b", "c,d"]
    # Given, the delimiter is not sniffed: the whole line is one column.
    assert list(read_table(pipes, ReadOptions(delimiter=";")).columns) == ["id|note"]


def test_latin1_needs_its_encoding_and_the_error_says_where(tmp_path) -> None:
    path = tmp_path / "cities.csv"
    path.write_bytes("id,city\n1,Zürich\n2,Malmö\n".encode("latin-1"))
    message = (
        "cities.csv: line 2 (byte 11): b'\\xfc' is not utf-8 text; give --encoding latin-1 "
        "(or the file's own, e.g. cp1252)"
    )
    with pytest.raises(ValueError) as error:
        read_table(path)
    assert str(error.value) == message
    table, report = read_table_report(path, ReadOptions(encoding="latin-1"))
    assert table["city"].tolist() == ["Zürich", "Malmö"] and report.encoding == "latin-1"


def test_a_bad_byte_far_into_a_compressed_file_is_found_by_line(tmp_path) -> None:
    path = tmp_path / "big.csv.gz"
    text = "id,city\n" + "1,Zurich\n" * 20_000 + "2,Zürich\n"
    path.write_bytes(gzip.compress(text.encode("latin-1")))
    with pytest.raises(ValueError, match=r"big.csv.gz: line 20,002 \(byte 180,011\)"):
        read_table(path)


def test_options_are_checked_when_made() -> None:
    with pytest.raises(ValueError, match="unknown encoding 'klingon'"):
        ReadOptions(encoding="klingon")
    with pytest.raises(ValueError, match="--bad-rows takes error or skip, not 'drop'"):
        ReadOptions(bad_rows="drop")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="--delimiter takes one character"):
        ReadOptions(delimiter="::")
    with pytest.raises(ValueError, match="--columns names a more than once"):
        ReadOptions(columns=("a", "b", "a"))


def test_a_cut_last_line_stops_naming_file_and_line_or_is_skipped(tmp_path, caplog) -> None:
    path = tmp_path / "events.csv"
    path.write_text(LOG + "8,p2,vi")
    with pytest.raises(ValueError) as error:
        read_table(path, HEADERLESS)
    assert str(error.value) == (
        "events.csv: line 4: 3 fields, expected 4 (a cut last line?); "
        "--bad-rows skip drops such rows"
    )
    skip = ReadOptions(columns=HEADERLESS.columns, bad_rows="skip")
    with caplog.at_level(logging.INFO, logger="features"):
        table, report = read_table_report(path, skip)
    pd.testing.assert_frame_equal(table, LOG_FRAME)
    assert (report.rows, report.bad_rows, report.bad_lines, report.header) == (
        3,
        1,
        ("line 4",),
        False,
    )
    assert "events.csv: 1 malformed row(s) skipped, at line 4" in caplog.text


def test_malformed_rows_are_found_across_quoted_newlines_and_blank_lines(tmp_path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text('id,note\n1,"two\nlines"\n\n2\n3,x,extra\n4,y\n')
    with pytest.raises(ValueError, match=r"notes.csv: line 5: 1 field, expected 2 \(2 malformed"):
        read_table(path)
    table, report = read_table_report(path, ReadOptions(bad_rows="skip"))
    assert table.to_numpy().tolist() == [[1, "two\nlines"], [4, "y"]]
    assert report.bad_lines == ("line 5", "line 6")


def test_an_unterminated_quote_is_named(tmp_path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text('id,note,n\n1,"ok",1\n2,"open,1\n3,x,2\n')
    with pytest.raises(ValueError, match="notes.csv: line 3: a quote opened here is never closed"):
        read_table(path)
    table = read_table(path, ReadOptions(bad_rows="skip"))
    assert table.to_numpy().tolist() == [[1, "ok", 1]]


def test_columns_must_match_the_fields(tmp_path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(LOG)
    with pytest.raises(ValueError) as error:
        read_table(path, ReadOptions(columns=("user", "item")))
    assert str(error.value) == (
        "events.csv: --columns names 2 columns, but the file has 4 fields per line"
    )


def test_a_folder_of_parquet_parts_is_one_table(tmp_path) -> None:
    folder = tmp_path / "interactions"
    folder.mkdir()
    LOG_FRAME.iloc[2:].to_parquet(folder / "part-1.parquet", index=False)
    LOG_FRAME.iloc[:2].to_parquet(folder / "part-0.parquet", index=False)
    (folder / "_SUCCESS").write_text("")
    table, report = read_table_report(folder)
    pd.testing.assert_frame_equal(table, LOG_FRAME)
    assert report.files == ("interactions/part-0.parquet", "interactions/part-1.parquet")
    assert report.describe() == [
        ("files", "2 files: interactions/part-0.parquet ... interactions/part-1.parquet"),
        ("format", "Parquet"),
    ]
    LOG_FRAME.rename(columns={"day": "date"}).to_parquet(folder / "part-2.parquet")
    with pytest.raises(ValueError, match="interactions/part-2.parquet: columns .* differ from"):
        read_table(folder)


def test_hive_partitions_add_their_column(tmp_path) -> None:
    folder = tmp_path / "interactions"
    for day, rows in LOG_FRAME.groupby("day"):
        (folder / f"day={day}").mkdir(parents=True)
        rows.drop(columns="day").to_parquet(folder / f"day={day}" / "part.parquet", index=False)
    table = read_table(folder)
    assert table.astype({"day": "str"}).equals(LOG_FRAME.astype({"day": "str"}))


def test_several_text_parts_are_one_table_and_must_agree(tmp_path) -> None:
    folder = tmp_path / "interactions"
    folder.mkdir()
    lines = LOG.splitlines(keepends=True)
    header = "user,item,kind,day\n"
    (folder / "part-0.csv").write_text(header + "".join(lines[:2]))
    (folder / "part-1.csv.gz").write_bytes(gzip.compress((header + lines[2]).encode()))
    table, report = read_table_report(folder)
    pd.testing.assert_frame_equal(table, LOG_FRAME)
    assert report.files == ("interactions/part-0.csv", "interactions/part-1.csv.gz")
    (folder / "part-2.csv").write_text("user,item,type,day\n9,p3,view,2026-01-04\n")
    with pytest.raises(ValueError) as error:
        read_table(folder)
    assert str(error.value) == (
        "interactions/part-2.csv: header user,item,type,day differs from "
        "interactions/part-0.csv's (user,item,kind,day); every part needs the same columns"
    )
    LOG_FRAME.to_parquet(folder / "part-2.parquet")
    (folder / "part-2.csv").unlink()
    with pytest.raises(ValueError, match="all Parquet or all CSV; found parquet, text"):
        read_table(folder)


def test_parquet_ignores_attrs_that_do_not_serialise(tmp_path) -> None:
    scores = pd.DataFrame({"follower_id": ["a"], "score": [42]})
    scores.attrs["as_of"] = pd.Timestamp("2026-01-01", tz="UTC")
    write_table(scores, tmp_path / "scores.parquet")
    assert read_table(tmp_path / "scores.parquet").to_numpy().tolist() == [["a", 42]]
    assert scores.attrs  # the caller's frame keeps them


def test_report_of_a_plain_file_is_exact(tmp_path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("user,item,kind,day\n" + LOG)
    assert read_table_report(path)[1] == ReadReport(("events.csv",), 3, ",", ".", "utf-8")


def _chunks_are_one_table(tmp_path) -> None:
    from features.write import TableWriter

    chunks = [
        pd.DataFrame({"id": ["a"], "reasons": [[]]}),
        pd.DataFrame({"id": ["b", "c"], "reasons": [["x"], []]}),
    ]
    for name in ("chunks.csv", "chunks.parquet"):
        with TableWriter(tmp_path / name) as writer:
            for chunk in chunks:
                writer.write(chunk)
        assert writer.rows == 3
        assert read_table(tmp_path / name)["id"].tolist() == ["a", "b", "c"]
    assert pd.read_parquet(tmp_path / "chunks.parquet")["reasons"].map(list).tolist() == [
        [],
        ["x"],
        [],
    ]
    with pytest.raises(KeyboardInterrupt), TableWriter(tmp_path / "cut.parquet") as writer:
        writer.write(chunks[0])
        raise KeyboardInterrupt
    assert not any(path.name.startswith((".cut", "cut")) for path in tmp_path.iterdir())


def test_empty_chunks_write_one_header_and_an_empty_run_its_columns(tmp_path) -> None:
    from features.write import TableWriter

    empty, full = pd.DataFrame({"id": pd.Series([], dtype="str")}), pd.DataFrame({"id": ["a"]})
    for name in ("one.csv", "one.parquet"):
        with TableWriter(tmp_path / name) as writer:
            for chunk in (empty, full, empty, full):
                writer.write(chunk)
        assert read_table(tmp_path / name)["id"].tolist() == ["a", "a"]
        with TableWriter(tmp_path / f"none{Path(name).suffix}") as writer:
            writer.write(empty)
        assert list(read_table(tmp_path / f"none{Path(name).suffix}").columns) == ["id"]


def test_parquet_keeps_dictionaries_for_all_but_floats(tmp_path) -> None:
    import pyarrow.parquet as pq

    n = 2000
    scores = pd.DataFrame(
        {
            "follower_id": [f"f{i % 50}" for i in range(n)],
            "tier": ["A", "B"] * (n // 2),
            "probability": [i / n for i in range(n)],
            "reasons": [["many likes", "a recent visit"]] * n,
        }
    )
    path = write_table(scores, tmp_path / "scores.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(path), scores, check_dtype=False)
    group = pq.read_metadata(path).row_group(0)
    encoded = {
        group.column(leaf).path_in_schema: "RLE_DICTIONARY" in group.column(leaf).encodings
        for leaf in range(group.num_columns)
    }
    assert encoded == {
        "follower_id": True,
        "tier": True,
        "probability": False,
        "reasons.list.element": True,
    }
