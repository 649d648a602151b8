"""Fetching untrusted inputs: the network address policy, URL downloads and local files under allowed roots."""
