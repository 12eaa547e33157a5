"""Use cases that change state: each takes the ports of `domain.ports` (unit of work, notifier, clock).

`launch` opens a cycle, `follow_up` reminds and escalates, `closing` collects and closes, `replies`
saves agencies' answers (portal and `spreadsheets`), `review` records the secretariat's decisions,
`catalogue`, `owners` and `agencies` keep the catalogue. The rules they apply live in `domain/`;
what they only read (progress, e-mail contexts, the review queue) is in `workflows.queries`.
"""
