#!/bin/sh
# One PostgreSQL server, one database and one role per service: no service can read another's
# tables. Runs once, when the data volume is created (docker-entrypoint-initdb.d).
set -eu
create() {
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE $1 LOGIN PASSWORD '$2';
CREATE DATABASE $1 OWNER $1;
REVOKE ALL ON DATABASE $1 FROM PUBLIC;
SQL
}
create registry "$REGISTRY_DB_PASSWORD"
create funding "$FUNDING_DB_PASSWORD"
create contracts "$CONTRACTS_DB_PASSWORD"
