"""Real CBS StatLine tables in ``cbsodata`` CSV form: reader, name mapping, panel."""
