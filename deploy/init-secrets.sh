#!/bin/sh
# Creates the secret files deploy/compose.yaml reads, with random passwords and keys:
#   deploy/init-secrets.sh [DIR]        (default: deploy/secrets, kept out of git and of the image)
# Files that already exist are kept, so running it again never changes a password in use.
# The directory is private (0700); the files in it are 0644 because compose mounts them into containers
# with their host permissions, and the processes reading them run as non-root users.
set -eu

dir="${1:-$(dirname "$0")/secrets}"
umask 077
mkdir -p "$dir"
chmod 0700 "$dir"

random_hex() {  # $1 bytes of randomness as hex
    od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}

keep_or_write() {  # $1 file, $2 content
    if [ -e "$dir/$1" ]; then
        echo "kept    $dir/$1"
    else
        printf '%s\n' "$2" > "$dir/$1"
        chmod 0644 "$dir/$1"
        echo "created $dir/$1"
    fi
}

read_secret() {
    head -n 1 "$dir/$1"
}

keep_or_write postgres_password "$(random_hex 24)"
keep_or_write redis_password "$(random_hex 24)"
keep_or_write api_token "$(random_hex 32)"
keep_or_write llm_api_key "$(random_hex 32)"

owner_url="postgresql://plinth:$(read_secret postgres_password)@postgres:5432/plinth"
# The owner runs the migrations. The processes may use the same login or, better, a login limited to
# the application role (docs/operations.md, "Secrets"): replace database_url then.
keep_or_write database_url_migrate "$owner_url"
keep_or_write database_url "$owner_url"
keep_or_write redis_url "redis://:$(read_secret redis_password)@redis:6379/0"

if [ -e "$dir/langfuse.env" ]; then
    echo "kept    $dir/langfuse.env"
else
    langfuse_db_password="$(random_hex 24)"
    minio_password="$(random_hex 24)"
    cat > "$dir/langfuse.env" <<ENV
POSTGRES_PASSWORD=$langfuse_db_password
DATABASE_URL=postgresql://langfuse:$langfuse_db_password@langfuse-postgres:5432/langfuse
SALT=$(random_hex 32)
ENCRYPTION_KEY=$(random_hex 32)
NEXTAUTH_SECRET=$(random_hex 32)
CLICKHOUSE_PASSWORD=$(random_hex 24)
REDIS_AUTH=$(random_hex 24)
MINIO_ROOT_PASSWORD=$minio_password
LANGFUSE_S3_EVENT_UPLOAD_SECRET_ACCESS_KEY=$minio_password
LANGFUSE_S3_MEDIA_UPLOAD_SECRET_ACCESS_KEY=$minio_password
ENV
    echo "created $dir/langfuse.env"
fi
