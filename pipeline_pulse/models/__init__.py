"""The warehouse schema. Import from here so every table is registered on `Base.metadata`."""

from pipeline_pulse.models.base import Base, UTCDateTime, utcnow
from pipeline_pulse.models.deals import (
    STAGE_HISTORY_SOURCES,
    VERSION_PRODUCERS,
    Deal,
    DealSnapshot,
    DealStageHistory,
    DealVersion,
    MartDealContribution,
    OpenDealFreshness,
    OpenDealFreshnessDaily,
    PipelineMetric,
    PipelineMetricDaily,
    StageHistoryImport,
    ZohoStageHistory,
)
from pipeline_pulse.models.dimensions import (
    DEAL_STATUSES,
    FORECAST_TYPES,
    CountryRegion,
    CrmUser,
    Currency,
    PipelineStage,
    Region,
)
from pipeline_pulse.models.health import (
    HEALTH_COMPARISONS,
    HEALTH_MEASURES,
    HEALTH_SEVERITIES,
    DealHealthRule,
    StageDuration,
)
from pipeline_pulse.models.sync import RejectedRecord, SyncState, WarehouseDataVersion
from pipeline_pulse.models.targets import SalesTarget
from pipeline_pulse.models.tokens import ZohoCreditLedger, ZohoOAuthToken

UNASSIGNED_REGION = "Unassigned"

__all__ = [
    "DEAL_STATUSES",
    "FORECAST_TYPES",
    "HEALTH_COMPARISONS",
    "HEALTH_MEASURES",
    "HEALTH_SEVERITIES",
    "STAGE_HISTORY_SOURCES",
    "UNASSIGNED_REGION",
    "VERSION_PRODUCERS",
    "Base",
    "CountryRegion",
    "CrmUser",
    "Currency",
    "Deal",
    "DealHealthRule",
    "DealSnapshot",
    "DealStageHistory",
    "DealVersion",
    "MartDealContribution",
    "OpenDealFreshness",
    "OpenDealFreshnessDaily",
    "PipelineMetric",
    "PipelineMetricDaily",
    "PipelineStage",
    "Region",
    "RejectedRecord",
    "SalesTarget",
    "StageDuration",
    "StageHistoryImport",
    "SyncState",
    "UTCDateTime",
    "WarehouseDataVersion",
    "ZohoCreditLedger",
    "ZohoOAuthToken",
    "ZohoStageHistory",
    "utcnow",
]
