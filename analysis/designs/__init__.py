"""Designs: one module per design, one public entry point per module, one result type.

Every municipality was treated on 1 January 2015, so no design has an untreated
control group: identification comes from how hard the reform hit (size class,
budget change per inhabitant, baseline caseload), checked with event studies,
pre-trend tests and placebos.
"""
