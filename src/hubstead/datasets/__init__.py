"""The dataset viewer: conversion of a dataset repo's data files to parquet on ``refs/convert/parquet`` (a
background job per revision), derived DuckDB indexes and statistics per revision, and the viewer's queries
(splits, rows, search, filter, statistics, size, info, parquet listing)."""
