"""Background jobs (bulk updates, merges): queued, working, then completed or failed.

A job's work runs when the job finishes: at once for an ordinary job (its submission still answers
``queued``, as the real API does), or on the poll after the ``polls`` a slow job is held back for.
The changes are stamped with ``fake.now`` at that moment. Zendesk keeps job data a day and runs at
most 30 jobs per account at a time; both limits are modelled.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tests.fakes.zendesk.faults import Faults
from tests.fakes.zendesk.records import ApiError, not_found
from tests.fakes.zendesk.state import ZendeskState

MAX_ACTIVE_JOBS = 30
RETENTION = timedelta(days=1)

Work = Callable[[], list[dict[str, Any]]]


@dataclass
class Job:
    id: str
    job_type: str
    total: int
    created_at: datetime
    work: Work
    polls_left: int
    polls_held: int
    status: str = "queued"
    progress: int = 0
    message: str | None = None
    results: list[dict[str, Any]] | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("completed", "failed")


class Jobs:
    def __init__(self, state: ZendeskState, faults: Faults) -> None:
        self._state = state
        self._faults = faults
        self._ids = itertools.count(0x8B726E606741012FFC2D782BCB7848FE)
        self.jobs: dict[str, Job] = {}

    def submit(self, job_type: str, total: int, work: Work) -> Job:
        active = [j for j in self.jobs.values() if not j.finished]
        if len(active) >= MAX_ACTIVE_JOBS:
            raise ApiError(
                429,
                "TooManyJobs",
                f"Number of allowed queued jobs ({MAX_ACTIVE_JOBS}) for this account is exceeded",
            )
        polls = self._faults.take_job_polls()
        job = Job(f"{next(self._ids):032x}", job_type, total, self._state.now, work, polls, polls)
        self.jobs[job.id] = job
        if polls == 0:
            self._run(job)
        return job

    def get(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None or self._state.now - job.created_at > RETENTION:
            raise not_found()
        return job

    def poll(self, job_id: str) -> Job:
        """What a status request sees; a held-back job moves on one step per poll."""
        job = self.get(job_id)
        if job.finished:
            return job
        if job.polls_left > 0:
            job.polls_left -= 1
            job.status = "working"
            done = job.polls_held - job.polls_left
            job.progress = job.total * done // (job.polls_held + 1)
            return job
        self._run(job)
        return job

    def finish_all(self) -> None:
        """Let every unfinished job run now (a test's way of saying 'time passed')."""
        for job in list(self.jobs.values()):
            if not job.finished:
                self._run(job)

    def _run(self, job: Job) -> None:
        failure = self._faults.take_job_failure()
        if failure is not None:
            job.status, job.message, job.results = "failed", failure, None
            return
        job.results = job.work()
        job.status = "completed"
        job.progress = job.total
        job.message = f"Completed at {self._state.now.strftime('%Y-%m-%d %H:%M:%S +0000')}"
