"""The report pipeline: report.yml -> one ReportContext -> notebooks, HTML pages and summary.json."""
