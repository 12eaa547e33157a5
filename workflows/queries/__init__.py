"""Read models: what pages, commands and e-mails show, read with plain SQL; nothing here changes state.

`progress` (who answered what, the list of cycles), `emails` (message contexts and keys), `review`
(the queue, a request's thread, roll-ups), `catalogue` (the owners file, counts, launch readiness),
`reply_page` (an agency's reply page, in at most four queries), `figures` (the stock-take's figures
from grouped queries).
"""
