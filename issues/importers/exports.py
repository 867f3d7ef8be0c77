"""An export as handed in: a zip, a folder or a single file, read with limits.

Whatever another platform (or someone posing as one) hands in is hostile until read: a
member named ``../../etc/passwd`` or ``/abs`` is refused, as is a member larger than
``MAX_MEMBER_BYTES``, an export larger than ``MAX_TOTAL_BYTES`` uncompressed, and a member
that inflates more than ``MAX_RATIO`` times (a zip bomb). The sizes a zip declares are
checked before anything is inflated, and reading stops at the declared size, so a lying
header cannot make us inflate more.
"""

import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

MAX_MEMBER_BYTES = 200 * 1024 * 1024
MAX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024
MAX_RATIO = 200
MAX_MEMBERS = 100_000
RATIO_FLOOR_BYTES = 1024 * 1024  # small members may compress well (a CSV of one repeated value)


class ExportError(Exception):
    """An export that cannot be read, with a message saying why (for the person importing)."""


def safe_name(name: str) -> str:
    """A member name as a relative POSIX path, or ExportError when it could leave the folder."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise ExportError(f"the export holds a file named “{name}”, outside its folder: refused.")
    return str(path)


@dataclass
class Export:
    """The files of an export by relative name, read on demand."""

    source: Path

    def names(self) -> list[str]:
        raise NotImplementedError

    def read(self, name: str) -> bytes:
        raise NotImplementedError

    def text(self, name: str) -> str:
        try:
            return self.read(name).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ExportError(f"“{name}” is not UTF-8 text.") from None

    def image(self, url: str) -> bytes | None:
        """The picture at ``url`` when the export carries it (Ghost's zip keeps
        ``content/images/…`` under the same path as its address), else None."""
        path = urlsplit(url).path.lstrip("/")
        if not path:
            return None
        name = self.find(path)
        return self.read(name) if name is not None else None

    def find(self, suffix: str) -> str | None:
        """The shortest name ending with ``suffix`` (exports sometimes wrap all in a folder)."""
        found = [n for n in self.names() if n == suffix or n.endswith("/" + suffix)]
        return min(found, key=len) if found else None


class ZipExport(Export):
    def __init__(self, source: Path):
        super().__init__(source)
        try:
            self.zip = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, OSError) as error:
            raise ExportError(f"{source.name} is not a readable zip file ({error}).") from None
        infos = [info for info in self.zip.infolist() if not info.is_dir()]
        if len(infos) > MAX_MEMBERS:
            raise ExportError(f"the export holds more than {MAX_MEMBERS} files: refused.")
        total = 0
        self.members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = safe_name(info.filename)
            if info.file_size > MAX_MEMBER_BYTES:
                raise ExportError(
                    f"“{name}” is {info.file_size // 2**20} MB uncompressed, more than the "
                    f"{MAX_MEMBER_BYTES // 2**20} MB one file may be: refused."
                )
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > RATIO_FLOOR_BYTES and ratio > MAX_RATIO:
                raise ExportError(f"“{name}” inflates {ratio:.0f} times (a zip bomb?): refused.")
            total += info.file_size
            self.members[name] = info
        if total > MAX_TOTAL_BYTES:
            raise ExportError(
                f"the export is {total // 2**20} MB uncompressed, more than "
                f"{MAX_TOTAL_BYTES // 2**20} MB: refused."
            )

    def names(self) -> list[str]:
        return list(self.members)

    def read(self, name: str) -> bytes:
        info = self.members.get(name)
        if info is None:
            raise ExportError(f"the export has no “{name}”.")
        with self.zip.open(info) as member:
            data = member.read(info.file_size + 1)
        if len(data) > info.file_size:
            raise ExportError(f"“{name}” is larger than its zip entry says: refused.")
        return data


class FolderExport(Export):
    """An export already unpacked (or a single file): only files inside the folder are read."""

    def __init__(self, source: Path):
        super().__init__(source)
        self.root = source.resolve() if source.is_dir() else source.resolve().parent
        files = [p for p in self.root.rglob("*") if p.is_file()] if source.is_dir() else [source]
        self.files = {
            str(path.resolve().relative_to(self.root)): path.resolve()
            for path in files
            if path.resolve().is_relative_to(self.root)  # no symlink out of the folder
        }

    def names(self) -> list[str]:
        return list(self.files)

    def read(self, name: str) -> bytes:
        path = self.files.get(safe_name(name))
        if path is None:
            raise ExportError(f"the export has no “{name}”.")
        if path.stat().st_size > MAX_MEMBER_BYTES:
            raise ExportError(f"“{name}” is larger than {MAX_MEMBER_BYTES // 2**20} MB: refused.")
        return path.read_bytes()


def open_export(path: Path) -> Export:
    if not path.exists():
        raise ExportError(f"there is no file or folder {path}.")
    if path.is_file() and zipfile.is_zipfile(path):
        return ZipExport(path)
    return FolderExport(path)
