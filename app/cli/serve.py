"""Commands that run the system: everything at once (`up`) or one process each (production)."""

from __future__ import annotations

import socket
from enum import StrEnum

import typer

from app.core.settings import get_settings


class WorkerPool(StrEnum):
    prefork = "prefork"
    threads = "threads"


NODE_NAMES = {WorkerPool.prefork: "plinth", WorkerPool.threads: "plinth-threads"}


def register(cli: typer.Typer) -> None:
    @cli.command()
    def up(port: int = typer.Option(None, help="API port (default PLINTH_API_PORT, 8000).")) -> None:
        """Start PostgreSQL, Redis, migrations, worker, beat and API on this machine; Ctrl-C stops all."""
        from app.runtime.supervisor import StartupError, Supervisor

        settings = get_settings()
        try:
            code = Supervisor(settings=settings, port=port or settings.api.port).run()
        except StartupError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        raise typer.Exit(code)

    @cli.command()
    def migrate(revision: str = typer.Argument("head")) -> None:
        """Apply database migrations up to REVISION."""
        from app.runtime import migrate as migrations

        migrations.upgrade(get_settings().require_database_url(), revision)
        typer.echo(f"database migrated to {revision}")

    @cli.command()
    def api(
        host: str = typer.Option(None, help="Bind address (default PLINTH_API_HOST)."),
        port: int = typer.Option(None, help="Port (default PLINTH_API_PORT)."),
        workers: int = typer.Option(1, help="Server processes."),
    ) -> None:
        """Serve the HTTP API (and Slack events, console) with uvicorn."""
        import uvicorn

        settings = get_settings()
        uvicorn.run(
            "app.api.factory:create_app",
            factory=True,
            host=host or settings.api.host,
            port=port or settings.api.port,
            workers=workers,
            log_config=None,
            proxy_headers=True,
        )

    @cli.command()
    def worker(
        queues: str = typer.Option(None, help="Comma-separated queues (default: all)."),
        pool: WorkerPool = typer.Option(
            WorkerPool.prefork,
            help="prefork: a process per task, for work that needs a core (ingestion); threads: a thread "
            "per task in one process, for work that waits (answers on the model, replies, maintenance).",
        ),
        concurrency: int = typer.Option(
            None,
            help="Tasks at once (default: PLINTH_WORKER_CONCURRENCY processes or PLINTH_WORKER_THREADS).",
        ),
    ) -> None:
        """Run a Celery worker."""
        from app.core.logging import configure_logging
        from workers import names
        from workers.celery_app import app as celery_app

        configure_logging()
        settings = get_settings()
        settings.require_redis_url()
        threads = pool is WorkerPool.threads
        if threads:
            from rag.embeddings import get_embedder

            # The threads share this process's copies of the model (pool processes load theirs when they
            # start): load them before the first task, not during it.
            get_embedder()
        default_concurrency = settings.worker.threads if threads else settings.worker.concurrency
        celery_app.worker_main(
            [
                "worker",
                "--queues",
                queues or ",".join(names.ALL_QUEUES),
                "--pool",
                pool.value,
                "--concurrency",
                str(concurrency or default_concurrency),
                "--hostname",
                # One node of each pool per host (`plinth up` runs both; deploy/healthcheck.sh pings either).
                f"{NODE_NAMES[pool]}@{socket.gethostname()}",
                "--loglevel",
                settings.log_level,
                "--without-mingle",
                "--without-gossip",
            ]
        )

    @cli.command()
    def beat() -> None:
        """Run Celery beat, the scheduler of periodic jobs."""
        from app.core.logging import configure_logging
        from workers.celery_app import app as celery_app

        configure_logging()
        settings = get_settings()
        settings.require_redis_url()
        settings.run_dir.mkdir(parents=True, exist_ok=True)
        celery_app.start(
            ["beat", "--schedule", str(settings.run_dir / "beat-schedule"), "--loglevel", settings.log_level]
        )

    @cli.command("local-llm")
    def local_llm(
        host: str = typer.Option("127.0.0.1", help="Bind address."),
        port: int = typer.Option(None, help="Port (default PLINTH_LOCAL_LLM_PORT, 8081)."),
    ) -> None:
        """Serve the small local model behind the OpenAI-compatible API (opt-in generation without a GPU)."""
        import uvicorn

        from app.runtime.local_llm import create_app

        settings = get_settings().local_llm
        uvicorn.run(create_app(settings.threads), host=host, port=port or settings.port, log_config=None)
