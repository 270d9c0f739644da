"""wsgi.py leaves what starting made out of the garbage collector's full passes (gc.freeze)."""

import subprocess

from tests.processes import BIN, ROOT, process_env


def test_the_served_app_freezes_what_starting_made(tmp_path):
    env = process_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'app.sqlite3'}",
        PEERLEARN_INSTANCE_DIR=str(tmp_path / "instance"),
        FLASK_RUN_FROM_CLI="true",  # no embedded periodic jobs in this short-lived process
    )
    script = "import gc, wsgi; print(gc.get_freeze_count(), len(gc.get_objects()))"
    done = subprocess.run(  # noqa: S603 - a fixed argument list of our own, no shell
        [BIN / "python", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    frozen, collected = (int(n) for n in done.stdout.split())
    assert frozen > 50_000  # the app's startup objects
    assert collected < frozen // 10  # what the collector still walks is a small remainder
