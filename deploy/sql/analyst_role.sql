-- Read-only access to the Pipeline Pulse warehouse for analysts (PostgreSQL 10+, run with psql).
--
--   psql "postgresql://OWNER@HOST/WAREHOUSE" -v ON_ERROR_STOP=1 -f deploy/sql/analyst_role.sql \
--        [-v analyst_role=pipeline_pulse_analyst] [-v analyst_user=analyst_example]
--
-- Run it as the role that owns the warehouse tables (the one `alembic upgrade head` connects as): the
-- default privileges below apply to tables that role creates later. Re-running is safe (idempotent).
--
-- What it sets up:
--   * `pipeline_pulse_analyst`: a NOLOGIN group role with CONNECT on the database, USAGE on schema public and
--     SELECT on every warehouse table and view, present and future. Nothing else: no INSERT / UPDATE /
--     DELETE / TRUNCATE, no CREATE, no sequences.
--   * Two tables stay closed: `zoho_oauth_tokens` (encrypted Zoho credentials; analysts have no business
--     with ciphertexts) and `alembic_version` (migration bookkeeping). A future migration that adds another
--     sensitive table must REVOKE SELECT on it from this role, since default privileges grant it.
--   * PUBLIC loses CREATE on schema public (already the default from PostgreSQL 15; older versions let every
--     role create tables there). The role running this script keeps it.
--   * An example LOGIN user, member of the group, read-only by default (default_transaction_read_only) and
--     with a statement timeout so a runaway query cannot hold the warehouse. No password is set here, so
--     none ends up in a file or a shell history: set one with `\password analyst_example` in psql, or use
--     IAM authentication on RDS (`GRANT rds_iam TO analyst_example`). Add more analysts with
--     `CREATE ROLE name LOGIN IN ROLE pipeline_pulse_analyst;`.
--
-- Point analysts at the read replica (see docs/production.md); the grants replicate with the database.

\if :{?analyst_role}
\else
  \set analyst_role pipeline_pulse_analyst
\endif
\if :{?analyst_user}
\else
  \set analyst_user analyst_example
\endif
SELECT current_user AS warehouse_owner \gset

-- The group role (CREATE ROLE has no IF NOT EXISTS).
SELECT format('CREATE ROLE %I NOLOGIN', :'analyst_role')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'analyst_role') \gexec
ALTER ROLE :"analyst_role" NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;

-- Reach the database and the schema, create nothing in it.
GRANT CONNECT ON DATABASE :"DBNAME" TO :"analyst_role";
GRANT USAGE ON SCHEMA public TO :"analyst_role";
GRANT CREATE ON SCHEMA public TO CURRENT_USER;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE CREATE, TEMPORARY ON DATABASE :"DBNAME" FROM :"analyst_role";

-- Read every table and view (views are tables to GRANT), now and in the future.
GRANT SELECT ON ALL TABLES IN SCHEMA public TO :"analyst_role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"warehouse_owner" IN SCHEMA public GRANT SELECT ON TABLES TO :"analyst_role";

-- ... except the Zoho token store and Alembic's bookkeeping.
REVOKE ALL ON TABLE zoho_oauth_tokens FROM :"analyst_role";
REVOKE ALL ON TABLE alembic_version FROM :"analyst_role";

-- An example analyst login, member of the group.
SELECT format('CREATE ROLE %I LOGIN', :'analyst_user')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'analyst_user') \gexec
ALTER ROLE :"analyst_user" LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
GRANT :"analyst_role" TO :"analyst_user";
ALTER ROLE :"analyst_user" SET default_transaction_read_only = on;
ALTER ROLE :"analyst_user" SET statement_timeout = '5min';
