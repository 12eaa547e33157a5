"""Rendering of the stock-take report (Markdown, HTML, Word, spreadsheet, charts) from its data.

Document rendering is neither domain logic, storage, notification nor orchestration, so it sits in
its own package; it takes a `StockTake` and returns text or bytes, and never touches the database.
"""

# The formats a stock-take is written in; here, free of imports, so the CLI can list them cheaply.
FORMATS: tuple[str, ...] = ("docx", "html", "md", "xlsx")
