"""seed the default regions and country-to-region mapping

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REGIONS = [
    ("APAC", "Asia Pacific", "South-East and East Asia, Australia and New Zealand."),
    ("EMEA", "Europe, Middle East and Africa", "Europe, the Middle East and Africa."),
    ("Americas", "Americas", "North, Central and South America."),
    ("India", "India", "India and the rest of South Asia."),
    ("Unassigned", "Unassigned", "Deals with neither a Region nor a mapped Country."),
]

COUNTRIES = {
    "APAC": [
        ("Singapore", "SG"),
        ("Malaysia", "MY"),
        ("Indonesia", "ID"),
        ("Thailand", "TH"),
        ("Vietnam", "VN"),
        ("Philippines", "PH"),
        ("Australia", "AU"),
        ("New Zealand", "NZ"),
        ("Japan", "JP"),
        ("China", "CN"),
        ("Hong Kong", "HK"),
        ("South Korea", "KR"),
        ("Taiwan", "TW"),
    ],
    "EMEA": [
        ("United Kingdom", "GB"),
        ("Ireland", "IE"),
        ("Germany", "DE"),
        ("France", "FR"),
        ("Netherlands", "NL"),
        ("Belgium", "BE"),
        ("Spain", "ES"),
        ("Italy", "IT"),
        ("Switzerland", "CH"),
        ("Sweden", "SE"),
        ("Norway", "NO"),
        ("Denmark", "DK"),
        ("Poland", "PL"),
        ("United Arab Emirates", "AE"),
        ("Saudi Arabia", "SA"),
        ("Israel", "IL"),
        ("South Africa", "ZA"),
        ("Nigeria", "NG"),
        ("Kenya", "KE"),
        ("Egypt", "EG"),
    ],
    "Americas": [
        ("United States", "US"),
        ("Canada", "CA"),
        ("Mexico", "MX"),
        ("Brazil", "BR"),
        ("Argentina", "AR"),
        ("Chile", "CL"),
        ("Colombia", "CO"),
        ("Peru", "PE"),
    ],
    "India": [
        ("India", "IN"),
        ("Sri Lanka", "LK"),
        ("Bangladesh", "BD"),
        ("Nepal", "NP"),
    ],
}

regions = sa.table("regions", sa.column("code"), sa.column("name"), sa.column("description"))
country_regions = sa.table(
    "country_regions",
    sa.column("country"),
    sa.column("iso_code"),
    sa.column("region_code"),
)


def upgrade() -> None:
    op.bulk_insert(regions, [{"code": c, "name": n, "description": d} for c, n, d in REGIONS])
    op.bulk_insert(
        country_regions,
        [
            {"country": country, "iso_code": iso, "region_code": region}
            for region, countries in COUNTRIES.items()
            for country, iso in countries
        ],
    )


def downgrade() -> None:
    op.execute(country_regions.delete())
    op.execute(regions.delete())
