"""Airflow task policies that ship with the provider."""
