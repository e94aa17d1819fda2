#!/bin/sh
# Health of the Plinth process in this container, for Docker's HEALTHCHECK and Kubernetes exec probes.
# The process is the argument, or else the `plinth` subcommand PID 1 runs (tini -- entrypoint plinth CMD).
#   api     GET /healthz answers 200
#   worker  this host's Celery worker (either pool) answers a ping through the broker
#   smtp    the SMTP listener accepts a connection
#   other   (beat, one-shot commands) alive while the process runs
set -eu

process="${1:-$(tr '\0' '\n' < /proc/1/cmdline | sed -n '/^plinth$/{n;p;q;}')}"

case "$process" in
    api)
        exec python -c 'import sys, urllib.request
port = sys.argv[1]
with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
    sys.exit(0 if response.status == 200 else 1)' "${PLINTH_API_PORT:-8000}"
        ;;
    worker)
        host="$(uname -n)"
        exec celery --app workers.celery_app inspect ping --destination "plinth@$host,plinth-threads@$host" \
            --timeout 5 > /dev/null
        ;;
    smtp)
        exec python -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5).close()' "${PLINTH_EMAIL_LISTEN_PORT:-2525}"
        ;;
    *)
        exit 0
        ;;
esac
