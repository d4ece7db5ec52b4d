"""What a wheel holds (`pip install .`, not the README's editable install): setuptools packs only
the packages pyproject.toml lists, so a package missing from the list is missing from the wheel
and `claimsim` fails there at its first import of it (until 2026-12-02 the list lacked the
engine, the projections, the audit and the runtimes). The list is held to the folders here."""

from __future__ import annotations

import fnmatch
import tomllib

from .test_import_graph import ROOT, SOURCE_FOLDERS

SHIPPED = ("*.py", "*.toml")  # what a source folder holds that the installed package needs


def packaging() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def installed_name(folder: str, inside: tuple[str, ...]) -> str:
    return ".".join(("claimsim", *([] if folder == "claimsim" else [folder]), *inside))


def shipped_folders() -> dict[str, list[str]]:
    """Installed name -> the names of the files it must ship, for every folder under the root
    folders that holds code or data (not build output or caches)."""
    folders: dict[str, list[str]] = {}
    for root in SOURCE_FOLDERS:
        for path in (ROOT / root).rglob("*"):
            if (path.is_file() and "__pycache__" not in path.parts
                    and any(fnmatch.fnmatch(path.name, p) for p in SHIPPED)):
                inside = path.parent.relative_to(ROOT / root).parts
                folders.setdefault(installed_name(root, inside), []).append(path.name)
    return folders


def test_every_folder_with_code_or_data_is_listed_for_the_wheel():
    assert set(packaging()["packages"]) == set(shipped_folders())


def test_every_data_file_is_package_data():
    data = packaging()["package-data"]
    for package, names in shipped_folders().items():
        for name in names:
            if not name.endswith(".py"):
                assert any(fnmatch.fnmatch(name, p) for p in data.get(package, ())), (package, name)


def test_the_root_folders_install_under_the_claimsim_namespace():
    assert packaging()["package-dir"] == {
        installed_name(folder, ()): folder for folder in SOURCE_FOLDERS}
