"""Everything that comes from CBS (Statistics Netherlands), in three parts.

* :mod:`analysis.data.cbs.api`: the live CBS OData API client (``python -m analysis
  fetch``): HTTP, fetching, the cache with its provenance, staging, the v3/v4 response
  files, table ids, and the step from a cached fetch to a panel (``build --source cbs``).
  Go there for anything about downloading or reading what the API returned.
* :mod:`analysis.data.cbs.exports`: the vendored StatLine CSV exports in
  ``data/raw/statline`` (the ``cbsodata`` CSV form): reader, municipality names, the
  tables, population, forms of youth care, and their panel (``build --source statline``).
* :mod:`analysis.data.cbs.catalogue`: which CBS tables and columns the panel uses, with
  their units and roles (shared by both).
* :mod:`analysis.data.cbs.special_values`: CBS's special values (``.``, ``x``,
  ``Impossible``, sentinel numbers) -> missing with a status, never 0; used by every reader.
"""
