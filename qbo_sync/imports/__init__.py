"""Customer import: a newly connected app starts from QuickBooks' customer list.

``match`` holds the matching rule (pure), ``run`` reads the customers in pages and
links, creates, lists or skips each one (README "Customer import")."""
