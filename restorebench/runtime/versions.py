"""Installed package versions, recorded beside results so a figure can be traced to its software."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def installed_versions(packages: tuple[str, ...]) -> dict[str, str]:
    """Version of each installed package; packages that are not installed are left out."""
    found = {}
    for package in packages:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found
