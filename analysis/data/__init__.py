"""The data pipeline: sources -> panel on one year's municipal boundaries.

* sources: ``cbs/`` (the StatLine client and its cache), ``statline/`` (vendored real
  StatLine tables), ``synthetic/`` (the generator of the synthetic default), ``owndata``
  (a researcher's own CSV), and ``sources`` (stored OData v4 responses -> long form);
* boundaries: ``boundary_parser`` (CBS's region history text) and ``boundaries``
  (:class:`analysis.BoundaryHistory`, crosswalks), ``merger_cohorts``;
* the panel: ``schema`` (the vocabulary and defaults), ``roles``, ``validation``,
  ``screening`` (implausible raw cells set missing with a reason, before harmonising),
  ``rates_and_sizes``, ``harmonise``, and ``build`` (raw data -> stored panel);
* plumbing: ``paths``, ``io`` (atomic writes), ``ownership`` (what the toolkit may write).
"""
