"""Read models: what pages, commands and e-mails show, read with plain SQL; nothing here changes state.

`progress` (who answered what, the list of cycles), `emails` (message contexts and keys, shaped from
what the repositories read), `review` (the queue, a request's thread, roll-ups), `catalogue` (the
owners file, counts), `public_record` (the public record and the API's pages), `reply_page` (an
agency's reply page, in at most four queries), `figures` (the stock-take's figures from grouped
queries), `evidence` (an answer's files).
"""
