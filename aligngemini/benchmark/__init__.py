"""Benchmarking any model on any labelled image collection."""
