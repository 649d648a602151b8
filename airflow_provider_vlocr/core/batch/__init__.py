"""The batch pipeline: items parsed from ``images``, loaded under the user's rules, recognised, journaled."""
