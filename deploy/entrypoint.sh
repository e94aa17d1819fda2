#!/bin/sh
# Container entry point: turns secret files into the settings they are named after, then runs the
# command. A file $SECRETS_DIR/PLINTH_DATABASE_URL (compose `secrets:` with `target: PLINTH_DATABASE_URL`,
# or a mounted Kubernetes Secret) becomes the variable PLINTH_DATABASE_URL, so secrets never have to sit in
# the container's configuration. Setting a variable both ways is refused rather than silently resolved.
set -eu

secrets_dir="${SECRETS_DIR:-/run/secrets}"
if [ -d "$secrets_dir" ]; then
    for path in "$secrets_dir"/PLINTH_*; do
        [ -f "$path" ] || continue
        name="$(basename "$path")"
        case "$name" in
            *[!A-Z0-9_]*) echo "entrypoint: ignoring $path: not a variable name" >&2; continue ;;
        esac
        if printenv "$name" > /dev/null; then
            echo "entrypoint: $name is set both as a variable and as the file $path; keep one" >&2
            exit 64
        fi
        value="$(cat "$path")"
        export "$name=$value"
    done
fi

exec "$@"
