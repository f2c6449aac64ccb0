"""Reporting: how results are shown in the notebooks and the report.

``report`` (executes the notebooks into one HTML report), ``execute`` (notebooks in
parallel), ``summary`` (the first summary of a built panel), ``truth`` (the synthetic
truth beside an estimate) and ``style`` (figures and tables).
"""
