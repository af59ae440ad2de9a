"""Problems found in roster files, and the one error that reports them all."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath


@dataclass(frozen=True)
class RosterProblem:
    """One problem in a roster file, located by file name, line number and column or field name.

    `line` is None for a problem with the whole file, and `field` is None for a problem with a
    whole line.
    """

    file: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        location = [PurePath(self.file).name or self.file]
        if self.line is not None:
            location.append(f"line {self.line}")
        if self.field is not None:
            location.append(f"field {self.field}")
        return f"{', '.join(location)}: {self.message}"


class RosterError(Exception):
    """An import that failed. `problems` lists everything wrong, in file and line order."""

    def __init__(self, problems: Iterable[RosterProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class ProblemLog:
    """The problems found so far while reading one or more files."""

    def __init__(self) -> None:
        self.problems: list[RosterProblem] = []

    def __bool__(self) -> bool:
        return bool(self.problems)

    def __len__(self) -> int:
        return len(self.problems)

    def add(self, file: str, line: int | None, field: str | None, message: str) -> None:
        self.problems.append(RosterProblem(PurePath(file).name or file, line, field, message))

    def raise_if_any(self, file_order: Iterable[str] = ()) -> None:
        """Raise RosterError with every problem unless none was found.

        Problems are sorted by file (in `file_order` first, then by name) and then by line, so
        that a person fixing the files can work down each one.
        """
        if not self.problems:
            return
        rank = {PurePath(name).name: index for index, name in enumerate(file_order)}

        def position(problem: RosterProblem) -> tuple[int, str, int]:
            return (rank.get(problem.file, len(rank)), problem.file, problem.line or 0)

        raise RosterError(sorted(self.problems, key=position))
