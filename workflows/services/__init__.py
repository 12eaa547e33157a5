"""Use cases: each takes a unit of work (and ports: notifier, clock) and reads as a sentence."""
