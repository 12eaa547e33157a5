"""Read models: what pages and messages show, read in a few queries, changing nothing."""
