"""The ``recordings`` job: one session's raw feeds composed into one stored file
(``services.recordings.compose``). It runs on its own queue with its own timeout
(RECORDINGS_JOB_TIMEOUT), and is safe to run again after a kill: it resumes from its work folder."""

from ..services import recordings
from .worker import keep_alive


def compose_recording(recording_id):
    # Each progress report renews the job's heartbeat, so a worker killed mid-composition is found
    # (and its job retried) within minutes rather than after the two-hour timeout.
    return recordings.compose(recording_id, on_progress=keep_alive)
