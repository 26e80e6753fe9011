"""A small inventory module: the demo types into this file."""

from dataclasses import dataclass


@dataclass
class Item:
    name: str
    price: float
    quantity: int


def total_value(items: list[Item]) -> float:
    """Sum of price times quantity over all items."""
    return sum(item.price * item.quantity for item in items)


def cheapest(items: list[Item]) -> Item | None:
    """The item with the lowest price, or None for an empty list."""
    return min(items, key=lambda item: item.price, default=None)


