"""Operational metrics computed from the database, so they hold across workers and
restarts: job outcomes, errors, retries, latency, pull lag, the queue, QuickBooks calls
and the metered-read budget (README, "Metrics"). ``compute`` answers per workspace,
``series`` gives the dashboard's time series and ``prometheus`` the scrape."""
