"""Reading a spreadsheet's CSV export into rows keyed by normalised column names."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from clipbot.rosters.errors import ProblemLog

_SEPARATORS = re.compile(r"[\s_-]+")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_UK_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_YES = frozenset({"yes", "y", "true", "1"})
_NO = frozenset({"no", "n", "false", "0", ""})


@dataclass(frozen=True)
class CsvRow:
    """One data row: its first line in the file and its stripped values by column name.

    A column missing from the header is missing from `values`, and an empty cell is "".
    """

    line: int
    values: dict[str, str]

    def get(self, column: str) -> str | None:
        return self.values.get(column)

    def text(self, column: str) -> str:
        return self.values.get(column, "")


def column_name(header: str) -> str:
    """Normalise a header cell: lower case, with spaces, hyphens and underscores alike."""
    return _SEPARATORS.sub("_", header.strip().lower()).strip("_")


def normalise_word(text: str) -> str:
    """Normalise a value such as a role for comparison: lower case, separators as single spaces."""
    return _SEPARATORS.sub(" ", text.strip().lower()).strip()


def parse_date(text: str) -> date | None:
    """Parse YYYY-MM-DD or DD/MM/YYYY, or return None when `text` is neither or no real date."""
    iso = _ISO_DATE.fullmatch(text)
    uk = _UK_DATE.fullmatch(text)
    try:
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        if uk:
            return date(int(uk[3]), int(uk[2]), int(uk[1]))
    except ValueError:
        return None
    return None


def parse_yes_no(text: str) -> bool | None:
    """Parse yes/no, y/n, true/false or 1/0 in any case. An empty cell means no."""
    word = text.strip().lower()
    if word in _YES:
        return True
    if word in _NO:
        return False
    return None


@dataclass(frozen=True)
class CsvTable:
    """The data rows of a CSV file and the normalised names of its columns."""

    rows: list[CsvRow]
    columns: frozenset[str]

    def has_columns(self, names: Sequence[str]) -> bool:
        return set(names) <= self.columns


def read_table(
    path: Path, columns: Sequence[str], required: Sequence[str], problems: ProblemLog
) -> CsvTable | None:
    """Read a CSV file, reporting unreadable text and unknown, repeated or missing columns.

    Returns None when the file cannot be read or is empty. Otherwise it returns every non-blank
    row, including rows of a file whose header has problems, so that those rows are checked too.
    """
    text = _read_text(path, problems)
    if text is None:
        return None

    first_line = next((line for line in text.splitlines() if line.strip()), None)
    if first_line is None:
        problems.add(path.name, None, None, f"The file is empty. It needs a header line with the columns "
                     f"{', '.join(required)}, then one row per line.")
        return None
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[CsvRow] = []
    previous_end = 0
    try:
        for cells in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            cells = [cell.strip() for cell in cells]
            if not any(cells):
                continue
            if header is None:
                header = _check_header(path.name, line, cells, columns, required, problems)
                continue
            rows.append(_make_row(path.name, line, cells, header, problems))
    except csv.Error as error:
        problems.add(path.name, reader.line_num, None, f"The line cannot be read as CSV ({error}). "
                     f"Check its quote marks.")
    return CsvTable(rows, frozenset(header or ()))


def _read_text(path: Path, problems: ProblemLog) -> str | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        problems.add(path.name, None, None, f"File not found at {path}. Check the file name and folder.")
        return None
    except IsADirectoryError:
        problems.add(path.name, None, None, f"{path} is a folder, not a CSV file. Give the path of the file.")
        return None
    except OSError as error:
        problems.add(path.name, None, None, f"The file could not be read: {error.strerror}.")
        return None

    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        problems.add(path.name, line, None, "The file is not UTF-8 text. Save it from your spreadsheet as "
                     "'CSV UTF-8' and upload it again.")
        return None


def _check_header(
    file: str, line: int, cells: list[str], columns: Sequence[str], required: Sequence[str], problems: ProblemLog
) -> list[str]:
    header = [column_name(cell) for cell in cells]
    seen: set[str] = set()
    for cell, name in zip(cells, header):
        if not name:
            continue
        if name in seen:
            problems.add(file, line, cell, f"Column '{cell}' appears twice. Delete one of them.")
        elif name not in columns:
            problems.add(file, line, cell, f"'{cell}' is not a known column. The columns are: "
                         f"{', '.join(columns)}. Rename or delete it.")
        seen.add(name)

    for name in required:
        if name not in seen:
            problems.add(file, line, name, f"The required column '{name}' is missing. Add it to the header line.")
    return header


def _make_row(file: str, line: int, cells: list[str], header: list[str], problems: ProblemLog) -> CsvRow:
    extra = [cell for cell in cells[len(header):] if cell]
    if extra:
        problems.add(file, line, None, f"The row has {len(cells)} values but the header has {len(header)} "
                     f"columns. Remove the extra values ('{extra[0]}') or add a column for them.")

    values: dict[str, str] = {}
    for index, name in enumerate(header):
        # Spreadsheets often drop empty cells at the end of a row, so a short row is padded.
        value = cells[index] if index < len(cells) else ""
        if not name and value:
            problems.add(file, line, None, f"'{value}' is in a column with no header. Add a column name "
                         f"or delete the value.")
        values.setdefault(name, value)
    return CsvRow(line, values)
