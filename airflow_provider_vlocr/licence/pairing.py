"""Pair the front and back pages of the same vehicle within a batch of results."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .normalise import normalise_plate


@dataclass
class Vehicle:
    """The pages found for one vehicle: ``front``/``back`` results and the sources they came from."""

    plate: str | None
    pages: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def combined(self) -> dict[str, Any]:
        """A ``double_side``-shaped result for :func:`to_record`."""
        if set(self.pages) == {"double_side"}:
            return self.pages["double_side"]
        return {name: page for name, page in self.pages.items() if name in ("front", "back")}


def page_of(result: dict[str, Any], side: str | None) -> str:
    """Which page a result shows: the side asked, else by its fields."""
    if side in ("front", "back", "double_side"):
        return side
    if result.get("front") or result.get("back"):
        return "double_side"
    return "back" if result.get("file_no") or result.get("inspection_record") else "front"


def pair_pages(items: Iterable[tuple[str, str | None, dict[str, Any]]]) -> list[Vehicle]:
    """Group ``(source, side, result)`` by plate; a lone front directly followed by a lone back also pairs.

    The second rule catches pages whose plates were read differently; the record then says they disagree.
    """
    vehicles: list[Vehicle] = []
    by_plate: dict[str, Vehicle] = {}
    previous: Vehicle | None = None
    for source, side, result in items:
        page = page_of(result, side)
        plate = normalise_plate(result.get("number") or (result.get("front") or {}).get("number"))
        vehicle = by_plate.get(plate) if plate else None
        if vehicle is not None and (page in vehicle.pages or page == "double_side" or "double_side" in vehicle.pages):
            vehicle = None  # the same page twice: another vehicle record
        if vehicle is None and previous is not None and set(previous.pages) == {"front"} and page == "back":
            vehicle = previous
        if vehicle is None:
            vehicle = Vehicle(plate)
            vehicles.append(vehicle)
            if plate:
                by_plate.setdefault(plate, vehicle)
        vehicle.pages[page] = result
        vehicle.sources[page] = source
        previous = vehicle
    return vehicles
