"""Close-name suggestions never miss a name that differs only by case."""

from __future__ import annotations

import pytest

from eventschema_tools.catalog.resolve import close_names


@pytest.mark.parametrize(
    ("asked", "names", "first"),
    [
        ("checkout", ["Checkout", "checkout_started"], ["Checkout"]),
        ("CHECKOUT", ["checkout_completed", "Checkout"], ["Checkout"]),
        ("checkout", ["Checkout", "CHECKOUT", "checkout_started"], ["Checkout", "CHECKOUT"]),
        (" Checkout ", ["checkout"], ["checkout"]),
    ],
)
def test_names_equal_but_for_case_come_first_all_of_them(
    asked: str, names: list[str], first: list[str]
) -> None:
    suggested = close_names(asked, names)

    assert suggested[: len(first)] == first


def test_the_limit_still_holds() -> None:
    names = [f"Checkout{'!' * n}" for n in range(10)]

    assert len(close_names("checkout", names, limit=3)) == 3
