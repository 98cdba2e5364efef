"""Forecast categories: Zoho's standard names in forecast order, and the order of any others."""

from __future__ import annotations

# Zoho's standard categories, least to most certain, then the closed ones. Orgs may add custom categories
# (Zoho allows two more for open deals); those sort after these, by name, and deals without one come last.
STANDARD_CATEGORIES: tuple[str, ...] = ("Pipeline", "Best Case", "Committed", "Closed", "Omitted")
_POSITION = {name: index for index, name in enumerate(STANDARD_CATEGORIES)}


def category_order(category: str | None) -> tuple[int, str]:
    """Sort key: the standard categories in their order, then other names alphabetically, then None."""
    if category is None:
        return (len(STANDARD_CATEGORIES) + 1, "")
    return (_POSITION.get(category, len(STANDARD_CATEGORIES)), category)
