"""Sales insight on the warehouse: periods, targets, forecast categories, deal health rules, stage analytics.

Shared by the read API, the analyst views and the Dagster assets (definitions: docs/metrics.md, section 12)."""
