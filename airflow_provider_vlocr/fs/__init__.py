"""fsspec filesystems this provider registers with Airflow's ObjectStoragePath (provider info ``filesystems``)."""
