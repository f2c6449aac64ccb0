"""Studies: the questions the notebooks answer, each run as designs over the panel.

Every function returns a tidy table a test can reach: the SCP-style trends
(``trends``), the designs over many outcomes (``evaluation``), growth since 2015 and
its views (``since2015``, ``size_views``), the pre-reform checks (``prereform``), the
under-50,000 claim (``small_claim``), mergers (``mergers_evaluation``) and the
sensitivity, randomisation-inference and power study (``sensitivity_report``).
"""
