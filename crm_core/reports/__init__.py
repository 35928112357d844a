"""Reports to forward: an Excel workbook and a PDF executive report of one pipeline run and its outcomes."""
