#!/bin/sh
# One PostgreSQL server, one database and two roles per service: <service>_owner owns the
# database and its schema and runs the migrations; <service>, the role the service runs as, owns
# nothing and gets rows, not tables (the migrations grant it: tdi_kit.migrations.grant_app_role).
# No service can read another's tables. Runs once, when the data volume is created
# (docker-entrypoint-initdb.d).
set -eu
create() {
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE $1_owner LOGIN PASSWORD '$2';
CREATE ROLE $1 LOGIN PASSWORD '$3';
CREATE DATABASE $1 OWNER $1_owner;
REVOKE ALL ON DATABASE $1 FROM PUBLIC;
GRANT CONNECT ON DATABASE $1 TO $1;
SQL
}
create registry "$REGISTRY_DB_OWNER_PASSWORD" "$REGISTRY_DB_PASSWORD"
create funding "$FUNDING_DB_OWNER_PASSWORD" "$FUNDING_DB_PASSWORD"
create contracts "$CONTRACTS_DB_OWNER_PASSWORD" "$CONTRACTS_DB_PASSWORD"
