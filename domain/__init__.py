"""Follow-up's domain: pure Python, no I/O, no framework imports."""
