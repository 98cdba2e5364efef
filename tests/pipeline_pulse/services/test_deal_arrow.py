"""The columnar Bulk Read decoder (deal_arrow) against deal_codec's reference path, row by row: the same
typed columns, the same `raw` values, the same rejections with the same reasons."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

import pyarrow as pa

from pipeline_pulse.services.zoho.deal_arrow import CSV_BLOCK_BYTES, READAHEAD_BLOCKS, DealArrowDecoder, iter_chunks
from pipeline_pulse.services.zoho.deal_codec import DealCsvDecoder, RecordDecodeError, build_record
from pipeline_pulse.services.zoho.deal_columns import records_to_frame
from tests.pipeline_pulse.services.test_deal_codec import BAD_CELLS, CSV_HEADER, CSV_TYPES, GOOD_CELLS, csv_row

USERS = {"4876876000000200001": ("Ana", "ana@example.com"), "4876876000000200009": ("Bo", None)}
LOOKUPS = {"Account_Name": {"4876876000001000001": 'Acme "Intl"\\n', "4876876000001000002": None}}
# Cells the columnar path hands to the reference path (forms it does not vouch for) or must escape itself.
AWKWARD_CELLS = [
    ("Deal_Name", 'Quote " and \\ back'), ("Deal_Name", "line\nbreak\tand tab\r"), ("Deal_Name", "bell\x07"),
    ("Deal_Name", "naïve — ünïcödé 東京"), ("Amount", "007"), ("Amount", "+5"), ("Amount", "1.0000000001"),
    ("Amount", "-0.5"), ("Probability", "040"), ("Probability", " 40"), ("id", "9999999999999999999"),
    ("id", "9223372036854775807"), ("Tags", ";a;;b;"), ("Tags", ""), ("Tags", ";"), ("Tags", 'say "hi"'),
    ("Renewal", "true"), ("Account_Name", "4876876000001000002"), ("Modified_Time", "2025-03-01T23:30:00-05:00"),
    ("Closing_Date", "2024-02-29"), ("Stage", "  Closed Won  "), ("Deal_Age_Days", "0"), ("Deal_Age_Days", "1.50"),
]  # fmt: skip


def _rows() -> list[list[str]]:
    rows = [csv_row()] + [csv_row(**{k: v}) for k, v in GOOD_CELLS + BAD_CELLS + AWKWARD_CELLS]
    for index, row in enumerate(rows):  # distinct ids, so the two sides' sort orders agree
        if row[0] == "4876876000100000001":
            row[0] = str(4876876000100000001 + index)
    return rows


def _csv_bytes(rows: list[list[str]]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(rows)
    return text.getvalue().encode()


def _comparable(frame: pa.Table) -> list[dict[str, Any]]:
    rows = []
    for row in frame.to_pylist():
        row["raw"] = json.loads(row["raw"])
        # a flag column exists only where some row needed it; absent and False mean the same
        row = {k: bool(v) if k.startswith("_bad_") else v for k, v in row.items() if not k.startswith("_text_")}
        rows.append(row)
    return sorted(rows, key=lambda r: (str(r["modified_time"]), r["id"] or 0, r["deal_name"] or ""))


def test_columnar_bulk_decode_equals_the_reference_path() -> None:
    rows = [*_rows(), csv_row()[:-1]]  # and one row of the wrong width
    reference = DealCsvDecoder(CSV_TYPES, USERS, LOOKUPS)
    expected, expected_bad = [], []
    for row in rows:
        try:
            expected.append(build_record(*reference.normalise_row_with_times(CSV_HEADER, row)))
        except RecordDecodeError as exc:
            expected_bad.append((row[0], str(exc)))

    decoder = DealArrowDecoder(CSV_TYPES, USERS, LOOKUPS)
    assert decoder.usable(CSV_HEADER)
    referred: list[str] = []
    judge = decoder.reference.normalise_row_with_times

    def spy(header: Any, row: list[str]) -> Any:
        referred.append(row[0])
        return judge(header, row)

    decoder.reference.normalise_row_with_times = spy  # type: ignore[method-assign]
    invalid: list[list[str]] = []
    frames, rejected = [], []
    for chunk, _last in iter_chunks(io.BytesIO(_csv_bytes(rows)), CSV_HEADER, 7, invalid):
        frame, bad = decoder.decode(CSV_HEADER, chunk)
        frames.append(frame)
        rejected.extend(bad)
    assert [len(cells) for cells in invalid] == [len(CSV_HEADER) - 1]
    # only rows outside the strict forms took the reference path: the bad ones and a few awkward ones
    assert len(BAD_CELLS) <= len(referred) <= len(BAD_CELLS) + 12
    got = _comparable(pa.concat_tables(frames, promote_options="default"))
    want = _comparable(records_to_frame(expected))
    assert len(got) == len(want) == len(expected)
    for mine, theirs in zip(got, want, strict=True):
        assert mine == theirs, {k: (mine[k], theirs[k]) for k in mine if mine[k] != theirs[k]}
    assert sorted((bad.zoho_id, bad.reason) for bad in rejected) == sorted(
        bad for bad in expected_bad if bad[0] != rows[-1][0] or len(rows[-1]) == len(CSV_HEADER)
    )


def test_chunks_have_the_requested_size_and_the_last_is_flagged() -> None:
    rows = _rows()[:10]
    sizes = [(c.num_rows, last) for c, last in iter_chunks(io.BytesIO(_csv_bytes(rows)), CSV_HEADER, 4, [])]
    assert sizes == [(4, False), (4, False), (2, True)]
    empty = list(iter_chunks(io.BytesIO(_csv_bytes([])), CSV_HEADER, 4, []))
    assert [(c.num_rows, last) for c, last in empty] == [(0, True)]


def test_unusual_headers_are_left_to_the_reference_path() -> None:
    decoder = DealArrowDecoder(CSV_TYPES, USERS)
    assert not decoder.usable((*CSV_HEADER, "Deal_Name"))  # duplicate column
    assert not decoder.usable(CSV_HEADER[1:])  # no id
    assert not DealArrowDecoder({**CSV_TYPES, "Amount": "text"}, USERS).usable(CSV_HEADER)


def test_a_result_file_is_streamed_block_by_block_not_read_whole() -> None:
    """The decoder's own chunking bounds memory: while chunks come out, what it has read of the (zipped, like
    Bulk Read's) file stays within Arrow's readahead of CSV_BLOCK_BYTES blocks, far short of the file."""
    rows = []
    for index in range(100_000):
        row = csv_row()
        row[0] = str(4876876000100000001 + index)
        rows.append(row)
    data = _csv_bytes(rows)
    row_bytes = len(data) / len(rows)
    readahead = READAHEAD_BLOCKS * CSV_BLOCK_BYTES
    assert len(data) > 2.5 * readahead  # the file is far bigger than what may be buffered
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as writer:
        writer.writestr("deals.csv", data)
    read = 0
    yielded = 0
    ahead = []
    with zipfile.ZipFile(archive) as reader, reader.open("deals.csv") as member:
        plain_read = member.read

        def counting_read(size: int = -1) -> bytes:
            nonlocal read
            block = plain_read(size)
            read += len(block)
            return block

        member.read = counting_read  # type: ignore[method-assign]
        for chunk, _last in iter_chunks(member, CSV_HEADER, 1_000, []):
            assert chunk.num_rows <= 1_000
            yielded += chunk.num_rows
            ahead.append(read - yielded * row_bytes)
    assert yielded == len(rows)
    # plus the blocks in the hand-over queues, the one being parsed and iter_chunks' one block of lookahead
    assert max(ahead) <= readahead + 4 * CSV_BLOCK_BYTES
    assert ahead[0] < len(data) / 2
