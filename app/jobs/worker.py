"""`rollcall worker`, the queue's consumer, and the small supervisor behind `rollcall serve --with-worker`."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from app.jobs.core import queue, recover

# How long Ctrl-C (or SIGTERM) gives the web server and the worker to finish what they are doing.
STOP_GRACE = 15.0


def where(config: Any) -> str:
    """The queue in words, without a password a Redis URL may carry."""
    url = config.get("QUEUE_URL") or ""
    if url:
        scheme, _, rest = url.partition("://")
        return f"{scheme}://{rest.rpartition('@')[2]}"
    return config["QUEUE_PATH"]


@click.command("worker")
@click.option("--threads", default=2, show_default=True, type=click.IntRange(1, 32), help="Jobs run at once.")
@with_appcontext
def worker(threads: int) -> None:
    """Run queued jobs (imports, large exports, label batches) until stopped; Ctrl-C finishes the running ones."""
    q = queue()
    if q.huey.immediate:
        raise click.ClickException("This configuration runs jobs as they are queued; there is nothing to consume.")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    again = recover()
    name = current_app.config["QUEUE_NAME"]
    click.echo(f"Worker on queue {name!r} at {where(current_app.config)}, {threads} thread(s).", err=True)
    if again:
        click.echo(f"Queued again {len(again)} job(s) a stopped worker left running.", err=True)
    consumer = q.huey.create_consumer(workers=threads, worker_type="thread", periodic=True)
    consumer.run()


def supervise(commands: Sequence[tuple[Sequence[str], int]], *, grace: float = STOP_GRACE) -> int:
    """Run the commands side by side until one stops or we are told to (SIGINT, SIGTERM): then stop the others,
    each with the signal it takes as "finish and stop" (gunicorn SIGTERM, huey's consumer SIGINT), and SIGKILL
    after `grace` seconds. Returns the exit status of the first to stop (0 when we were told to)."""
    # Children start with the default SIGINT: a shell starting us in the background would have them ignore it.
    children = [
        subprocess.Popen(list(cmd), preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        for cmd, _ in commands
    ]
    stops = [sig for _, sig in commands]
    told: list[int] = []

    def stop(signum: int, _frame: Any) -> None:
        told.append(signum)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        status = 0
        while not told:
            ended = [c for c in children if c.poll() is not None]
            if ended:
                status = ended[0].returncode or 0
                name = " ".join(ended[0].args[:3]) if isinstance(ended[0].args, list) else str(ended[0].args)
                click.echo(f"{name} stopped (status {ended[0].returncode}); stopping the rest.", err=True)
                break
            time.sleep(0.2)
        for child, sig in zip(children, stops, strict=True):
            if child.poll() is None:
                child.send_signal(sig)
        deadline = time.monotonic() + grace
        for child in children:
            try:
                child.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        return status
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def worker_command() -> list[str]:
    """This same program's `worker` command."""
    return [sys.executable, "-c", "from app.cli import main; main()", "worker"]
