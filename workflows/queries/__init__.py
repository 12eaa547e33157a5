"""Read models: what pages, commands and e-mails show, read with plain SQL (no state changes)."""
