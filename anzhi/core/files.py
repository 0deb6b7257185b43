"""Files written atomically and hashed once: the two file primitives every layer uses.

:func:`atomic_write` writes one file to a temporary name in the same folder and renames it
into place (``os.replace``), so a reader never sees half a file.  :func:`file_sha256` is the
content key of Anzhi's caches (road graphs, slope rasters, the app's per-file caches).
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from anzhi.core.errors import InputError, Problem

__all__ = ["atomic_write", "check_outputs_apart", "file_sha256", "sha256_of"]



def atomic_write(path: str | Path, writer: Callable[[Path], None]) -> Path:
    """Write one file atomically: to a temporary file in the same folder, then rename.

    Parameters
    ----------
    path
        Destination file.  Its folder is created if absent.
    writer
        Called with the temporary path (same suffix as ``path``, so pandas/openpyxl pick
        the right format); it must write the whole file there.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    Exception
        Whatever ``writer`` raises; the temporary file is removed and ``path`` (if it
        existed) is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.",
                                    suffix=f".tmp{path.suffix}")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        writer(tmp)
        mode = (path.stat().st_mode & 0o777) if path.exists() else 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB chunks): the content key of Anzhi's
    caches (road graphs, slope rasters, the app's per-file caches).

    A file is read once per process while its path, size, modification time and inode stay
    the same (a run with a DEM keys both the road-graph cache and the slope cache on it);
    any change to the file is a new key.
    """
    p = Path(path)
    st = p.stat()
    return sha256_of(str(p.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)


@functools.lru_cache(maxsize=256)
def sha256_of(path: str, size: int, mtime_ns: int, inode: int) -> str:
    """The hash of ``path``; the other arguments only key the memo."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _same_file(a: Path, b: Path) -> bool:
    """``a`` and ``b`` are one file (hard or symbolic link, or one path spelt two ways)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return os.path.realpath(a) == os.path.realpath(b)


def _inside(path: Path, folder: Path) -> bool:
    """``path`` lies in ``folder`` or below it (symbolic links resolved)."""
    p, f = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([p, f]) == f


def check_outputs_apart(
    outputs: Iterable[str | Path],
    inputs: Iterable[str | Path | None],
    *,
    folder_files: Mapping[str | Path, Iterable[str]] | None = None,
) -> None:
    """Refuse, before anything runs, a run whose outputs would replace one of its inputs.

    Pure: nothing is created or changed; paths that do not exist yet are compared by their
    resolved spelling, existing ones with :func:`os.path.samefile` (so a link counts as the
    file it points to).

    Parameters
    ----------
    outputs
        Output files (``--out`` of a single-file command).
    inputs
        The run's input files or folders (``None`` entries are skipped).
    folder_files
        Output folder → the file names the run writes inside it (``--out DIR`` commands):
        each ``DIR/name`` counts as an output file, and ``DIR`` itself must not be an input.

    Raises
    ------
    InputError
        Every clash found, each naming the output, the input and the fix: an output file
        that is (or links to) an input file, an output inside an input folder, an output
        folder that is an input file, or two outputs that are one file.
    """
    ins = [Path(p) for p in inputs if p is not None]
    outs = [Path(p) for p in outputs]
    folders = [Path(f) for f in (folder_files or {})]
    for folder, names in (folder_files or {}).items():
        outs.extend(Path(folder) / n for n in names)
    fix = "choose another --out path (inputs are never modified)"
    problems: list[Problem] = []
    for i in ins:
        for f in folders:
            if i.is_file() and _same_file(f, i):
                problems.append(Problem(
                    f"output folder {f} is also an input ({i}): writing into it would replace "
                    "the input", fix="give --out a folder name that is not an input file"))
        for o in outs:
            if _same_file(o, i):
                problems.append(Problem(f"output {o} is also an input ({i}): writing it would "
                                        "replace the input", fix=fix))
            elif i.is_dir() and _inside(o, i):
                problems.append(Problem(f"output {o} is also an input: it lies inside the input "
                                        f"folder {i}", fix=fix))
    for k, a in enumerate(outs):
        for b in outs[k + 1:]:
            if _same_file(a, b):
                problems.append(Problem(f"outputs {a} and {b} are one file: the second would "
                                        "replace the first", fix="give each output its own path"))
    if problems:
        raise InputError(problems)
