"""Static reference data of the fake Zoho org: users, regions, currencies, pipelines and stages.

Ids are 19-digit integers like Zoho's; each kind of object has its own prefix so ids never collide.
"""

from __future__ import annotations

from dataclasses import dataclass

ORG_ID = 900_000_001
ZGID = "900000001"
HOME_CURRENCY = "SGD"

USER_BASE = 4_876_876_000_000_200_000
ACCOUNT_BASE = 4_876_876_000_001_000_000
CONTACT_BASE = 4_876_876_000_002_000_000
CAMPAIGN_BASE = 4_876_876_000_003_000_000
DEAL_BASE = 4_876_876_000_100_000_000
HISTORY_BASE = 4_876_876_500_000_000_000
LAYOUT_ID = 4_876_876_000_000_091_055
PROFILE_ID = 4_876_876_000_000_026_011
ROLE_ID = 4_876_876_000_000_026_005


@dataclass(frozen=True)
class User:
    index: int
    first_name: str
    last_name: str
    region: str
    country: str

    @property
    def id(self) -> int:
        return USER_BASE + self.index

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def email(self) -> str:
        local = f"{self.first_name}.{self.last_name}".lower()
        return "".join(ch for ch in local if ch.isascii() and (ch.isalnum() or ch == ".")) + "@example.com"


# Region -> countries (ISO name as Zoho picklists carry it). "India" is its own sales region.
REGIONS: dict[str, tuple[str, ...]] = {
    "APAC": ("Singapore", "Malaysia", "Australia", "Indonesia", "Thailand", "Philippines", "Vietnam", "Japan"),
    "EMEA": ("United Kingdom", "Germany", "France", "Netherlands", "United Arab Emirates", "South Africa"),
    "Americas": ("United States", "Canada", "Brazil", "Mexico"),
    "India": ("India",),
}
COUNTRY_REGION = {country: region for region, countries in REGIONS.items() for country in countries}
# Countries that exist in the picklist but map to no sales region (the "unknown region" awkward case).
UNMAPPED_COUNTRIES = ("Kenya", "Nigeria", "Chile")

COUNTRY_CURRENCY = {
    "Singapore": "SGD",
    "Malaysia": "MYR",
    "Australia": "AUD",
    "India": "INR",
    "Germany": "EUR",
    "France": "EUR",
    "Netherlands": "EUR",
    "United Kingdom": "GBP",
    "Japan": "JPY",
}

# iso -> (name, symbol, exchange rate = units of this currency per 1 SGD, Zoho's convention).
CURRENCIES: dict[str, tuple[str, str, float]] = {
    "SGD": ("Singapore Dollar - SGD", "SGD", 1.0),
    "USD": ("US Dollar - USD", "$", 0.74),
    "EUR": ("Euro - EUR", "€", 0.68),
    "INR": ("Indian Rupee - INR", "Rs.", 62.15),
    "MYR": ("Malaysian Ringgit - MYR", "RM", 3.45),
    "AUD": ("Australian Dollar - AUD", "A$", 1.12),
    "GBP": ("Pound Sterling - GBP", "£", 0.58),
    "JPY": ("Japanese Yen - JPY", "¥", 112.4),
}
CURRENCY_BASE = 4_876_876_000_000_300_000

USERS: tuple[User, ...] = (
    User(0, "Amelia", "Tan", "APAC", "Singapore"),
    User(1, "Wei Ming", "Lim", "APAC", "Singapore"),
    User(2, "Siti", "Rahman", "APAC", "Malaysia"),
    User(3, "Jack", "Thompson", "APAC", "Australia"),
    User(4, "Ngoc Anh", "Nguyen", "APAC", "Vietnam"),
    User(5, "Haruto", "Sato", "APAC", "Japan"),
    User(6, "Oliver", "Bennett", "EMEA", "United Kingdom"),
    User(7, "Zoë", "Müller", "EMEA", "Germany"),
    User(8, "Camille", "Lefèvre", "EMEA", "France"),
    User(9, "Daan", "de Vries", "EMEA", "Netherlands"),
    User(10, "Omar", "Haddad", "EMEA", "United Arab Emirates"),
    User(11, "Emily", "Carter", "Americas", "United States"),
    User(12, "Michael", "Johnson", "Americas", "United States"),
    User(13, "Sophie", "Tremblay", "Americas", "Canada"),
    User(14, "João", "Silva", "Americas", "Brazil"),
    User(15, "Priya", "Sharma", "India", "India"),
    User(16, "Arjun", "Iyer", "India", "India"),
    User(17, "Ananya", "Reddy", "India", "India"),
    User(18, "Rahul", "Mehta", "India", "India"),
    User(19, "Grace", "Ong", "APAC", "Singapore"),
)
ADMIN_USER = USERS[0]  # the OAuth grant's CurrentUser
USERS_BY_ID = {user.id: user for user in USERS}


@dataclass(frozen=True)
class Stage:
    name: str
    probability: int
    forecast_type: str  # Open / Closed Won / Closed Lost
    forecast_category: str
    sequence: int

    @property
    def closed(self) -> bool:
        return self.forecast_type != "Open"


STAGES: tuple[Stage, ...] = (
    Stage("Qualification", 10, "Open", "Pipeline", 1),
    Stage("Needs Analysis", 20, "Open", "Pipeline", 2),
    Stage("Value Proposition", 40, "Open", "Pipeline", 3),
    Stage("Id. Decision Makers", 60, "Open", "Best Case", 4),
    Stage("Proposal/Price Quote", 75, "Open", "Best Case", 5),
    Stage("Negotiation/Review", 90, "Open", "Committed", 6),
    Stage("Closed Won", 100, "Closed Won", "Closed", 7),
    Stage("Closed Lost", 0, "Closed Lost", "Omitted", 8),
    Stage("Closed-Lost to Competition", 0, "Closed Lost", "Omitted", 9),
)
STAGES_BY_NAME = {stage.name: stage for stage in STAGES}
# A stage deals still carry although it was removed from the Stage picklist (awkward case).
REMOVED_STAGE = Stage("Legacy Evaluation", 30, "Open", "Pipeline", 0)
FORECAST_CATEGORY_IDS = {"Pipeline": 1, "Best Case": 2, "Committed": 3, "Closed": 4, "Omitted": 5}

# Pipeline -> its ordered stages (subsets of the Stage picklist), and a weight for generation.
PIPELINES: dict[str, tuple[tuple[str, ...], int]] = {
    "Standard (Standard)": (tuple(stage.name for stage in STAGES), 50),
    "Enterprise": (
        (
            "Qualification",
            "Needs Analysis",
            "Id. Decision Makers",
            "Proposal/Price Quote",
            "Negotiation/Review",
            "Closed Won",
            "Closed Lost",
        ),
        25,
    ),
    "Channel Partner": (
        ("Qualification", "Value Proposition", "Proposal/Price Quote", "Closed Won", "Closed Lost"),
        15,
    ),
    "Renewals": (("Negotiation/Review", "Closed Won", "Closed Lost"), 10),
}
PIPELINE_BASE = 4_876_876_000_000_400_000

DEAL_TYPES = ("New Business", "Existing Business")
LEAD_SOURCES = (
    "Advertisement",
    "Cold Call",
    "Employee Referral",
    "External Referral",
    "Online Store",
    "Partner",
    "Public Relations",
    "Sales Email Alias",
    "Seminar Partner",
    "Internal Seminar",
    "Trade Show",
    "Web Download",
    "Web Research",
    "Chat",
)
SOLUTION_TYPES = (
    "Cloud Migration",
    "Managed Services",
    "Data & Analytics",
    "Cyber Security",
    "ERP Implementation",
    "Training",
)
PRODUCT_LINES = ("Platform", "Add-ons", "Professional Services", "Support", "Hardware")
LOSS_REASONS = ("Price", "Lost to Competitor", "No Budget", "No Decision", "Timing", "Other")
COMPETITORS = (None, None, "Acme Corp", "Globex", "Initech", "Umbrella", "Stark Industries")

ACCOUNT_PREFIXES = (
    "Blue",
    "Red",
    "Golden",
    "Pacific",
    "Atlas",
    "Nova",
    "Summit",
    "Vertex",
    "Orion",
    "Lotus",
    "Harbour",
    "Silver",
    "Crescent",
    "Evergreen",
    "Meridian",
    "Zenith",
)
ACCOUNT_NOUNS = (
    "Logistics",
    "Holdings",
    "Systems",
    "Foods",
    "Energy",
    "Retail",
    "Healthcare",
    "Finance",
    "Motors",
    "Telecom",
    "Textiles",
    "Analytics",
)
ACCOUNT_SUFFIXES = ("Pte Ltd", "Sdn Bhd", "GmbH", "Ltd", "Inc.", "Pvt Ltd", "SA", "BV", "Pty Ltd", "LLC")
NON_ASCII_ACCOUNTS = (
    "Société Générale d'Équipement",
    "Müller & Söhne GmbH",
    "東京テクノロジー株式会社",
    "São Paulo Logística Ltda",
    "Ελληνική Ενέργεια ΑΕ",
    "Ørsted Nordic ApS",
)
CONTACT_FIRST = ("Alex", "Sam", "Chris", "Jordan", "Taylor", "Morgan", "Lee", "Kim", "Ravi", "Mei", "Hana", "Luca")
CONTACT_LAST = ("Wong", "Singh", "Garcia", "Smith", "Kumar", "Chen", "Rossi", "Khan", "Park", "Ito", "Brown")
CAMPAIGNS = ("Q1 Webinar Series", "Partner Summit", "Spring Trade Show", "Email Nurture", "Cloud Roadshow")


def account_count(deals: int) -> int:
    return max(10, min(20_000, deals // 5))


def contact_count(deals: int) -> int:
    return max(10, min(30_000, deals // 4))
