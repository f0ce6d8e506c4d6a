#!/bin/bash
# Run once by the postgres image when it creates the primary's cluster:
# let the standby (another container on the compose network) stream WAL.
set -e
echo "host replication all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
