"""The sync machinery: the job contract handlers see (``job``), the outbox (every job
state change that is not a run), EntityLink bookkeeping (``links``), the engine that
runs a job, historical syncs, and the one task-queueing helper (``queue``)."""
