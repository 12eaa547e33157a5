"""The agency reply portal (FastAPI + Jinja2): secure links, no accounts."""
