"""Finding raw image pairs in the folders of each data source.

Every file is accounted for: a name either becomes a :class:`Pair` or a :class:`Skip`
with the reason, so found = written + skipped always reconciles.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from restorebench.data.images import is_image_file

HUMANFACE_FOLDER = "landscape Images"
NOT_REGULAR = "not a regular file (a FIFO, socket or device)"


@dataclass(frozen=True)
class Pair:
    name: str
    clean: Path
    damaged: Path | None  # None: damage is synthesized


@dataclass(frozen=True)
class Skip:
    name: str
    file: str
    reason: str


@dataclass(frozen=True)
class Discovery:
    pairs: list[Pair]
    skipped: list[Skip]

    @property
    def found(self) -> int:
        return len(self.pairs) + len(self.skipped)


def _require_folder(folder: Path, role: str, need_files: bool = True) -> Path:
    if not folder.exists():
        raise FileNotFoundError(f"{role} folder not found: {folder}")
    if not folder.is_dir():
        raise NotADirectoryError(f"{role} path is not a folder: {folder}")
    if need_files and not any(p.is_file() and not p.name.startswith(".") for p in folder.iterdir()):
        raise ValueError(f"{role} folder holds no files: {folder}")
    return folder


def _clean_folder(path: Path) -> list[Path]:
    return [_require_folder(path, "clean")]


def _pair_folders(path: Path) -> list[Path]:
    _require_folder(path, "pairs", need_files=False)
    return [_require_folder(path / "clean", "clean"), _require_folder(path / "damaged", "damaged")]


def _humanface_folders(path: Path) -> list[Path]:
    root = path if path.name == HUMANFACE_FOLDER else path / HUMANFACE_FOLDER
    if not root.is_dir():
        raise FileNotFoundError(f"humanface8000 folder '{HUMANFACE_FOLDER}' not found in {path}")
    return [
        _require_folder(root / "color", "humanface8000 clean"),
        _require_folder(root / "gray", "humanface8000 damaged"),
    ]


@dataclass(frozen=True)
class Source:
    """A kind of ``dataset.source``: everything the workflow and ``prepare`` ask of it.

    ``folders`` finds and checks the raw folders under ``dataset.path`` ([clean, damaged]
    or [clean]); None for a source built into the package (the demo). ``synthesizes``:
    this package draws its damage, so its masks are exact and its damage model must
    damage. ``download``: the folder the workflow downloads it into when ``dataset.path``
    is null. ``fit``: the one ``dataset.fit`` its pairs allow, with ``fit_reason``.
    """

    name: str
    synthesizes: bool
    folders: Callable[[Path], list[Path]] | None = None
    download: str | None = None
    fit: str | None = None
    fit_reason: str = ""

    @property
    def built_in(self) -> bool:
        """Made by the package itself (the demo's photos): no folder, no pairing."""
        return self.folders is None

    def awaits_download(self, path: str | None) -> bool:
        """Whether the workflow downloads it first: no folder given, and it has a download."""
        return self.download is not None and path is None

    def raw_folders(self, path: str | Path | None) -> list[Path]:
        """Its raw folders, checked; [] when it has none or awaits its download."""
        if self.built_in or self.awaits_download(path):
            return []
        if path is None:
            raise ValueError(f"source '{self.name}' needs a folder")
        return self.folders(Path(path))


SOURCES: dict[str, Source] = {
    source.name: source
    for source in (
        Source("demo", synthesizes=True),
        Source(
            "humanface8000",
            synthesizes=False,
            folders=_humanface_folders,
            download="resources/humanface8000",
            fit="stretch",
            fit_reason="its damaged images are its clean ones stretched to 256x256, so "
            "cropping would misalign the pairs",
        ),
        Source("pairs", synthesizes=False, folders=_pair_folders),
        Source("clean", synthesizes=True, folders=_clean_folder),
    )
}


def source(name: str) -> Source:
    """The registered source ``name``, or a ValueError naming the config key and the choices."""
    if name not in SOURCES:
        raise ValueError(f"dataset.source: '{name}' is not one of {', '.join(SOURCES)}")
    return SOURCES[name]


def _stem(path: Path) -> str:
    """The pairing key: one Unicode form (NFC), as macOS and Linux may store a name either way."""
    return unicodedata.normalize("NFC", path.stem)


def _index(folder: Path) -> dict[str, list[Path]]:
    """Every entry but folders by stem, broken links and special files included (to be named
    as such); hidden files are not data."""
    files: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if not path.is_dir():
            files[_stem(path)].append(path)
    return files


def _problem(files: list[Path]) -> Skip | None:
    if len(files) > 1:
        mixed = len({p.stem for p in files}) > 1  # the same letters, written differently
        listed = ", ".join(ascii(p.name) if mixed else p.name for p in files)
        note = " (one name in two Unicode forms)" if mixed else ""
        return Skip(_stem(files[0]), str(files[0]), f"duplicate stem{note}: {listed}")
    if files[0].is_symlink() and not files[0].exists():
        return Skip(_stem(files[0]), str(files[0]), "broken symbolic link: its target is missing")
    if not files[0].is_file():  # told from its status alone: opening a FIFO waits for a writer
        return Skip(_stem(files[0]), str(files[0]), NOT_REGULAR)
    if not is_image_file(files[0]):
        return Skip(files[0].stem, str(files[0]), f"unsupported file type '{files[0].suffix}'")
    return None


def discover(name: str, path: Path) -> Discovery:
    """Pairs of the folder source ``name``, matched by file stem (humanface8000's identical
    names included)."""
    folders = source(name).raw_folders(path)
    clean = _index(folders[0])
    damaged = _index(folders[1]) if len(folders) > 1 else None
    pairs, skipped = [], []
    for key in sorted(set(clean) | set(damaged or {})):
        problem = None
        if key in clean:
            problem = _problem(clean[key])
        if problem is None and damaged is not None:
            if key not in damaged:
                problem = Skip(key, str(clean[key][0]), f"no damaged partner in {folders[1]}")
            elif key not in clean:
                problem = Skip(key, str(damaged[key][0]), f"no clean partner in {folders[0]}")
            else:
                problem = _problem(damaged[key])
        if problem is not None:
            skipped.append(problem)
            if problem.reason == NOT_REGULAR:  # its partner is a raw file too: say why it is unused
                skipped += [
                    _problem(files)
                    or Skip(key, str(files[0]), f"its partner is {NOT_REGULAR}: {problem.file}")
                    for files in (clean.get(key), (damaged or {}).get(key))
                    if files and str(files[0]) != problem.file
                ]
            continue
        partner = damaged[key][0] if damaged is not None else None
        pairs.append(Pair(key, clean[key][0], partner))
    return Discovery(pairs, skipped)
