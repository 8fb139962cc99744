"""The grant and its settings: connecting a workspace to a company (OAuth), the
client for a stored connection, the lists loaded live from QBO, the settings rules
(the admin form and the API defer to them) and the status summary."""
