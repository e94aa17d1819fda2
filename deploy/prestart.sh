#!/usr/bin/env sh
# Run once per release before the new API, worker and beat processes start (a migration job or an
# init container): applies database migrations against PLINTH_DATABASE_URL.
set -eu
exec plinth migrate
