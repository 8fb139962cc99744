"""HTTP to Intuit, and nothing else: the QBO client, how values go on the wire, fault
codes, the per-realm call budget, company capabilities, the OAuth token endpoints and
how a QBO object is read. Knows no job, adapter, mapping or stored model
(docs/architecture.md)."""
