"""The one filter model of the read API, and the base of every endpoint's query-parameter model.

An endpoint declares ONE frozen model of all its query parameters (a `QueryParams` subclass, usually of
`DealFilters`), received with `Annotated[Model, Query()]`. The model is what the SQL conditions are compiled
from (api/queries/conditions.py) and what the response-cache key is derived from (api/response_cache.py), so
a parameter cannot reach a query without also reaching the key. Region is not a field: it narrows the caller's
RegionScope (api/deps.py), which both the conditions and the key take separately. Values that depend on
warehouse contents (pipeline, stage) are checked against it by api/known_values.py.
"""

from __future__ import annotations

import calendar
from collections.abc import Hashable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from api.errors import INVERTED_RANGE
from api.scalars import QueryDate, QueryText, ZohoIdParam

DealStatusFilter = Literal["open", "won", "lost", "all"]


def inverted_range(first: str, last: str) -> PydanticCustomError:
    """A range whose start is after its end: 400 naming both parameters (every endpoint alike)."""
    return PydanticCustomError(INVERTED_RANGE, "{first} must not be after {last}", {"first": first, "last": last})


class QueryParams(BaseModel):
    """Base of the per-endpoint parameter models: immutable and hashable, so usable in a cache key."""

    model_config = ConfigDict(frozen=True)

    def cache_salt(self) -> Hashable:
        """Anything besides the fields that the answer depends on (e.g. today's date); None for nothing."""
        return None


class DealFilters(QueryParams):
    owner_id: ZohoIdParam | None = Field(None, description="Zoho user id of the deal owner (a string).")
    pipeline: QueryText | None = Field(None, description="Pipeline name (one of /stages' pipelines).")
    stage: QueryText | None = Field(
        None, description="Current stage (a stage of `pipeline`, or of any pipeline without it; see /stages)."
    )
    closing_from: QueryDate | None = Field(None, description="Closing date on or after (YYYY-MM-DD).")
    closing_to: QueryDate | None = Field(None, description="Closing date on or before (YYYY-MM-DD).")

    @model_validator(mode="after")
    def _ordered_closing_range(self) -> DealFilters:
        if self.closing_from is not None and self.closing_to is not None and self.closing_from > self.closing_to:
            raise inverted_range("closing_from", "closing_to")
        return self

    @property
    def month_aligned(self) -> bool:
        """True when the closing range is whole calendar months, so the mart's closing_month can answer it."""
        starts_ok = self.closing_from is None or self.closing_from.day == 1
        ends_ok = self.closing_to is None or (
            self.closing_to.day == calendar.monthrange(self.closing_to.year, self.closing_to.month)[1]
        )
        return starts_ok and ends_ok

    def only_filters(self) -> DealFilters:
        """The filter fields alone (a subclass's extra parameters dropped)."""
        if type(self) is DealFilters:
            return self
        return DealFilters(**{name: getattr(self, name) for name in DealFilters.model_fields})
