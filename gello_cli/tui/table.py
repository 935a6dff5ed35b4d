"""A DataTable whose rows are keyed and updated in place.

``DataTable.clear()`` sends the cursor to the top; here rows are added, updated and
removed by key, sorted by a hidden value per cell, and the cursor follows its row.
Every table has a default order (its ``order`` columns), so a row that appears takes its
sorted place instead of joining the end, and the rows under the cursor hold still.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

MARK = "●"


@dataclass(frozen=True, slots=True, order=True)
class Cell:
    """A rendered value that sorts by ``sort`` and shows ``text``."""

    sort: Any
    text: str = field(compare=False)
    style: str = field(default="", compare=False)
    right: bool = field(default=False, compare=False)

    def __rich__(self) -> Text:
        return Text(
            self.text, style=self.style, no_wrap=True, justify="right" if self.right else "left"
        )


def cell(text: str, sort: Any = None, style: str = "") -> Cell:
    """A text cell, sorted by ``sort`` (its text when omitted)."""
    return Cell(text.lower() if sort is None else sort, text, style)


def num(text: str, sort: float, style: str = "") -> Cell:
    """A right-aligned numeric cell."""
    return Cell(sort, text, style, right=True)


BAR_DONE, BAR_FAILED, BAR_WAITING = "█", "▒", "░"
"""A progress bar's glyphs: each share reads without colour too (the 16-colour theme)."""


@dataclass(frozen=True, slots=True, order=True)
class BarCell(Cell):
    """A progress bar in a cell: its text holds the glyphs (so a change of any share is a
    change of text), each glyph coloured by what it counts."""

    colors: tuple[str, str, str] = field(default=("", "", ""), compare=False)
    """Styles of the done, failed and waiting glyphs."""

    def __rich__(self) -> Text:
        out = Text(no_wrap=True)
        styles = dict(zip((BAR_DONE, BAR_FAILED, BAR_WAITING), self.colors, strict=True))
        for char in self.text:
            out.append(char, style=styles.get(char, self.style))
        return out


def bar(done: int, failed: int, total: int, colors: tuple[str, str, str], width: int = 10) -> Cell:
    """``total`` as ``width`` glyphs: succeeded, failed (at least one glyph when any job
    failed), waiting (at least one while any waits), then the percent that ran to an end.
    It sorts by that percent."""
    ended = done + failed
    share = 1.0 if total <= 0 else min(ended / total, 1.0)
    filled = round(share * width)
    if ended and not filled:
        filled = 1
    if ended < total:
        filled = min(filled, width - 1)
    bad = 0 if not failed else min(filled, max(1, round(failed / max(total, 1) * width)))
    glyphs = BAR_DONE * (filled - bad) + BAR_FAILED * bad + BAR_WAITING * (width - filled)
    return BarCell(share, f"{glyphs} {share * 100:3.0f}%", colors=colors)


class KeyedTable(DataTable[Any]):
    """Rows by key; marks (``space``); sort by column (``s``, or click a header).

    Until a column is chosen, rows keep the default order: by the ``order`` columns (the
    first column when omitted), descending when ``descending``.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Open")]

    def __init__(
        self,
        columns: Sequence[tuple[str, str]],
        *,
        markable: bool = False,
        order: Sequence[str] = (),
        descending: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.spec = list(columns)
        self.default_order = list(order) or [self.spec[0][0]]
        self.default_descending = descending
        self.markable = markable
        self.marked: set[str] = set()
        self.sort_column: str | None = None
        self.sort_reverse = False
        self._cells: dict[str, tuple[Cell, ...]] = {}

    def on_mount(self) -> None:
        if self.markable:
            self.add_column(" ", key="_mark", width=1)
        for key, label in self.spec:
            # Room for the order arrow: a column is as wide as its label was when added.
            self.add_column(label + "  ", key=key)
        self._show_arrows()

    @property
    def cursor_key(self) -> str | None:
        """The key of the row under the cursor."""
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def selection(self) -> list[str]:
        """Marked rows that still exist, else the cursor row."""
        keep = [k for k in self._cells if k in self.marked]
        if keep:
            return keep
        key = self.cursor_key
        return [] if key is None else [key]

    def sync(self, rows: Sequence[tuple[str, Sequence[Cell]]]) -> None:
        """Make the table show ``rows``, touching only what changed."""
        before = self.cursor_key
        index = self.cursor_row
        wanted = {key: tuple(cells) for key, cells in rows}
        for key in [k for k in self._cells if k not in wanted]:
            self.remove_row(key)
            del self._cells[key]
        self.marked &= set(wanted)
        columns = [k for k, _ in self.spec]
        for key, cells in wanted.items():
            old = self._cells.get(key)
            if old is None:
                mark = [self._mark(key)] if self.markable else []
                self.add_row(*mark, *cells, key=key)
            else:
                for column, new, was in zip(columns, cells, old, strict=True):
                    if (new.sort, new.text, new.style) != (was.sort, was.text, was.style):
                        # Re-measuring a column walks all its rows: only when it must grow.
                        grow = len(new.text) > self.columns[ColumnKey(column)].content_width
                        self.update_cell(key, column, new, update_width=grow)
            self._cells[key] = cells
        self._order(before, index)

    def _mark(self, key: str) -> Cell:
        return Cell(0, MARK if key in self.marked else " ", "bold")

    def toggle_mark(self) -> None:
        """Mark or unmark the cursor row, then move down."""
        key = self.cursor_key
        if key is None or not self.markable:
            return
        self.marked ^= {key}
        self.update_cell(key, "_mark", self._mark(key))
        self.action_cursor_down()

    def clear_marks(self) -> None:
        for key in list(self.marked):
            self.marked.discard(key)
            if key in self._cells:
                self.update_cell(key, "_mark", self._mark(key))

    def sort_by(self, column: str | None = None, reverse: bool | None = None) -> None:
        """Sort by ``column`` (the next one when omitted), keeping the cursor's row."""
        keys = [k for k, _ in self.spec]
        if column is None:
            at = keys.index(self.sort_column) + 1 if self.sort_column in keys else 0
            column = keys[at % len(keys)]
            reverse = False
        elif reverse is None:
            reverse = not self.sort_reverse if column == self.sort_column else False
        self.sort_column, self.sort_reverse = column, reverse
        self._order(self.cursor_key, self.cursor_row)
        self._show_arrows()

    def reverse_order(self) -> None:
        """Flip the order, ascending to descending and back (the default order too)."""
        if self.sort_column is None:
            self.sort_by(self.default_order[0], not self.default_descending)
        else:
            self.sort_by(self.sort_column, not self.sort_reverse)

    def _show_arrows(self) -> None:
        """▲ or ▼ after the label of the column rows are ordered by, default order too."""
        column = self.sort_column or self.default_order[0]
        reverse = self.sort_reverse if self.sort_column else self.default_descending
        for key, label in self.spec:
            arrow = (" ▼" if reverse else " ▲") if key == column else "  "
            self.columns[ColumnKey(key)].label = Text(label + arrow)
        self.refresh()

    def _order(self, cursor_key: str | None, index: int) -> None:
        if self.row_count:
            if self.sort_column is None:
                self.sort(*self.default_order, reverse=self.default_descending)
            else:
                # Rows that tie on the chosen column keep the default order among them.
                ties = [c for c in self.default_order if c != self.sort_column]
                self.sort(self.sort_column, *ties, reverse=self.sort_reverse)
        if cursor_key is not None and cursor_key in self._cells:
            self.move_cursor(row=self.get_row_index(cursor_key), animate=False)
        elif self.row_count:
            self.move_cursor(row=min(index, self.row_count - 1), animate=False)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        if event.column_key.value != "_mark":
            self.sort_by(event.column_key.value)
