"""The live CBS OData API client: fetch tables, cache them with provenance, read them.

Go here to change how tables are downloaded (:mod:`~analysis.data.cbs.api.http`,
:mod:`~analysis.data.cbs.api.fetch`, ``python -m analysis fetch`` in
:mod:`~analysis.data.cbs.api.cli`), how a fetch is stored and verified
(:mod:`~analysis.data.cbs.api.cache`, :mod:`~analysis.data.cbs.api.staging`), how the
v3/v4 response files are read (:mod:`~analysis.data.cbs.api.v3files`,
:mod:`~analysis.data.cbs.api.v4files`), or how a cached fetch becomes a panel
(:mod:`~analysis.data.cbs.api.panel`, ``build --source cbs``). The vendored CSV exports
are in :mod:`analysis.data.cbs.exports` instead.
"""
