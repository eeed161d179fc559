"""Mutant catalogues: plausible wrong (and alternative correct) student answers.

Each assignment has ``tests/mutants/<assignment>.py`` with two lists:

- ``MUTANTS``: ``Mutant(name, function, source, hint)``. Graded through the real
  ``nbgrader autograde``, the submission with this answer cell must lose points on
  the tests of ``function``; when ``hint`` is given, one failing test's message
  must contain it (case-insensitive), so students are told the likely mistake.
- ``CORRECT``: ``Variant(name, function, source)``: a different correct answer
  that must get full marks.

Every other answer cell keeps the instructor's solution, so a mutant is judged
only by the tests of its own function. ``source`` replaces the whole answer
cell (``function`` is its grade id).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    name: str
    function: str
    source: str
    hint: str | None = None

    @property
    def code(self) -> str:
        return textwrap.dedent(self.source).strip("\n") + "\n"


@dataclass(frozen=True)
class Variant:
    name: str
    function: str
    source: str

    @property
    def code(self) -> str:
        return textwrap.dedent(self.source).strip("\n") + "\n"
