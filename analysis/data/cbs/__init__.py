"""CBS StatLine: read OData responses (v3 and v4), fetch them, cache them with provenance."""
