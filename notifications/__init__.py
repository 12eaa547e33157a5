"""E-mail: rendering from templates, the outbox, and the SMTP and directory senders."""
