"""E-mail: rendering from templates, the outbox, and the SMTP and directory senders."""

# Items a status request lists with their full text; a longer one lists codes under each agenda
# point. Here, free of imports, so the launch can skip loading the texts it will not show.
ITEMS_IN_FULL_MAX = 40
