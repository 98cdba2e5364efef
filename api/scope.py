"""RegionScope: the set of regions a caller may see. Every query function takes one; none can forget it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, bindparam, true
from sqlalchemy.orm import InstrumentedAttribute

from api.errors import ApiError
from api.security import Claims

ALL_REGIONS = "*"
SCOPE_PARAM = "scope_regions"


@dataclass(frozen=True, slots=True)
class RegionScope:
    """`regions` is None for "all regions" (admin role or "*"), else the allowed region codes."""

    regions: frozenset[str] | None

    @classmethod
    def from_claims(cls, claims: Claims, known_regions: Iterable[str]) -> RegionScope:
        if claims.role == "admin" or claims.regions == ALL_REGIONS:
            return cls(None)
        known = set(known_regions)
        if isinstance(claims.regions, list) and all(isinstance(code, str) for code in claims.regions):
            usable = frozenset(code for code in claims.regions if code in known)
            if usable:
                return cls(usable)
        raise ApiError(403, "forbidden", "the token has no usable region claim")

    @property
    def is_all(self) -> bool:
        return self.regions is None

    def allows(self, region: str) -> bool:
        return self.regions is None or region in self.regions

    def narrowed(self, region: str | None) -> RegionScope:
        """The scope limited to an explicitly requested region; 403 when it is outside the caller's scope."""
        if region is None:
            return self
        if not self.allows(region):
            raise ApiError(403, "forbidden", f"region {region!r} is outside your region scope")
        return RegionScope(frozenset({region}))

    def clause(self, column: InstrumentedAttribute[str] | ColumnElement[str]) -> ColumnElement[bool]:
        """The WHERE condition restricting `column` (a region code column) to this scope."""
        if self.regions is None:
            return true()
        return column.in_(sorted(self.regions))

    @staticmethod
    def bound_clause(
        column: InstrumentedAttribute[str] | ColumnElement[str],
        *,
        all_regions: bool,
        regions: list[str] | None = None,
        literal: bool = False,
    ) -> ColumnElement[bool]:
        """`clause` for a statement built once and reused: the regions come from `bind_params()` at execution
        (or are attached now when `regions` is given).

        A statement built with all_regions=False cannot run without the scope's values (missing bind parameter
        error), so a reused statement can never silently drop the filter. `literal`: the regions are written
        into the SQL text at execution (see `conditions` in api/queries/conditions.py).
        """
        if all_regions:
            return true()
        if regions is None:
            return column.in_(bindparam(SCOPE_PARAM, expanding=True, literal_execute=literal))
        return column.in_(bindparam(SCOPE_PARAM, regions, expanding=True, literal_execute=literal))

    def bind_params(self) -> dict[str, Any]:
        return {} if self.regions is None else {SCOPE_PARAM: sorted(self.regions)}

    def cache_key(self) -> str:
        return ALL_REGIONS if self.regions is None else ",".join(sorted(self.regions))
