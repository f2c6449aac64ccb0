"""Inference: fixed-effect absorption, covariance estimators, wild cluster bootstrap,
multiple-testing corrections."""
