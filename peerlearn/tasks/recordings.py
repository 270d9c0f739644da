"""The ``recordings`` job: one session's raw feeds composed into one stored file
(``services.recordings.compose``). It runs on its own queue with its own timeout
(RECORDINGS_JOB_TIMEOUT), and is safe to run again after a kill: it resumes from its work folder."""

from ..services import recordings


def compose_recording(recording_id):
    return recordings.compose(recording_id)
