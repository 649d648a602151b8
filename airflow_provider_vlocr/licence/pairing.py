"""Pair the front and back pages of the same vehicle within a batch of results, the same way in any input order.

The rule, across the whole batch:

1. A photo holding both pages (``double_side``) is a vehicle of its own.
2. Pages with the same plate pair up: fronts with backs, in the order of their sources' names (a plate photographed
   twice gives two vehicles, never a front with the wrong back).
3. A front and a back still alone pair when their plates differ by one character and neither has another such
   candidate (a misread character); the record then says the pages' plates disagree. Pages whose plates disagree
   are never paired while a page with the matching plate exists.
4. Every other page stays alone (``Vehicle.paired`` is false), to be reported.

Vehicles come out sorted by plate, then by source, so a re-run or a shuffled batch gives the same list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .normalise import normalise_plate

Page = tuple[str, str, str | None, dict[str, Any]]  # (source, page, plate, result)


@dataclass
class Vehicle:
    """The pages found for one vehicle: ``front``/``back`` results and the sources they came from."""

    plate: str | None
    pages: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def paired(self) -> bool:
        """Both pages are here (from two photos, or one photo of both)."""
        return "double_side" in self.pages or {"front", "back"} <= set(self.pages)

    def combined(self) -> dict[str, Any]:
        """A ``double_side``-shaped result for :func:`to_record`."""
        if set(self.pages) == {"double_side"}:
            return self.pages["double_side"]
        return {name: page for name, page in self.pages.items() if name in ("front", "back")}

    def add(self, page: Page) -> Vehicle:
        source, name, _, result = page
        self.pages[name] = result
        self.sources[name] = source
        return self


def page_of(result: dict[str, Any], side: str | None) -> str:
    """Which page a result shows: the side asked, else by its fields."""
    if side in ("front", "back", "double_side"):
        return side
    if result.get("front") or result.get("back"):
        return "double_side"
    return "back" if result.get("file_no") or result.get("inspection_record") else "front"


def plate_of(result: dict[str, Any]) -> str | None:
    return normalise_plate(result.get("number") or (result.get("front") or {}).get("number"))


def pair_pages(items: Iterable[tuple[str, str | None, dict[str, Any]]]) -> list[Vehicle]:
    """Group ``(source, side, result)`` into vehicles by the rule in the module docstring."""
    pages = sorted(
        ((source, page_of(result, side), plate_of(result), result) for source, side, result in items),
        key=lambda page: (page[0], page[1], page[2] or ""),
    )
    vehicles = [Vehicle(page[2]).add(page) for page in pages if page[1] == "double_side"]
    by_plate: dict[str | None, dict[str, list[Page]]] = {}
    for page in pages:
        if page[1] != "double_side":
            by_plate.setdefault(page[2], {}).setdefault(page[1], []).append(page)
    lone: list[Page] = []
    for plate, sides in by_plate.items():
        fronts, backs = sides.get("front", []), sides.get("back", [])
        if plate is None:  # no plate read: nothing to pair by
            lone += fronts + backs
            continue
        vehicles += [Vehicle(plate).add(front).add(back) for front, back in zip(fronts, backs, strict=False)]
        lone += fronts[len(backs) :] + backs[len(fronts) :]
    vehicles += pair_near_plates(lone)
    return sorted(vehicles, key=lambda v: (v.plate or "\uffff", sorted(v.sources.values())))


def pair_near_plates(lone: list[Page]) -> list[Vehicle]:
    """Lone pages as vehicles: a front and a back whose plates differ by one character pair when each is the
    other's only such candidate; the rest stay alone."""
    fronts = [page for page in lone if page[1] == "front" and page[2]]
    backs = [page for page in lone if page[1] == "back" and page[2]]
    near = {(f[0], b[0]) for f in fronts for b in backs if one_apart(f[2] or "", b[2] or "")}
    vehicles, taken = [], set()
    for front in fronts:
        candidates = [back for back in backs if (front[0], back[0]) in near]
        if len(candidates) == 1 and sum(1 for f, b in near if b == candidates[0][0]) == 1:
            vehicles.append(Vehicle(front[2]).add(front).add(candidates[0]))
            taken |= {front[0], candidates[0][0]}
    vehicles += [Vehicle(page[2]).add(page) for page in lone if page[0] not in taken]
    return vehicles


def one_apart(a: str, b: str) -> bool:
    """Whether two plates differ by exactly one character: one substituted, missing or extra."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))
