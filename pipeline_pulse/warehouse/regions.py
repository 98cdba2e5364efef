"""Region mapping: the deal's Region field if it names a known region, else its Country's region, else
Unassigned. Both lookups are case-insensitive and ignore surrounding spaces."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from pipeline_pulse.models import UNASSIGNED_REGION, CountryRegion, Region


def _norm(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip().casefold()
    return text or None


@dataclass(frozen=True)
class RegionMapper:
    region_codes: dict[str, str] = field(default_factory=dict)  # casefolded code -> canonical code
    country_regions: dict[str, str] = field(default_factory=dict)  # casefolded country -> region code

    def resolve(self, region: object, country: object) -> str:
        by_region = self.region_codes.get(_norm(region) or "")
        if by_region is not None:
            return by_region
        return self.country_regions.get(_norm(country) or "", UNASSIGNED_REGION)

    def region_of_country(self, country: object) -> str | None:
        return self.country_regions.get(_norm(country) or "")


def load_region_mapper(connection: Connection) -> RegionMapper:
    codes = connection.execute(select(Region.code)).scalars().all()
    countries = connection.execute(select(CountryRegion.country, CountryRegion.region_code)).all()
    return RegionMapper(
        region_codes={code.casefold(): code for code in codes},
        country_regions={country.strip().casefold(): region for country, region in countries},
    )
