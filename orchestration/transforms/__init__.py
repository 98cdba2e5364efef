"""Plain pandas transforms: no Dagster, no database writes; unit-tested directly."""
