"""Bundles and how they travel between the offline and the online machine."""
