"""Output folders and files that mmdmtl writes: never into someone else's data.

The rule (docs/failure_modes.md, "Writing files"): a tool of mmdmtl writes into a
folder only when the folder

* does not exist yet (it is created), or
* is empty, or
* holds mmdmtl's ownership marker ``.mmdmtl_output.json`` (written when mmdmtl
  first claims the folder), or another file that proves mmdmtl wrote it (the
  ``manifest.json`` of a generated SyntheticScenes copy).

Anything else raises ``OutputExistsError`` naming the folder and what is in it,
before a single byte is written. A single output file (a split file, a ``.pkl``)
that exists already is refused unless the caller passes ``overwrite=True`` (the
tools' ``--overwrite`` flag).
"""
import os
import os.path as osp
import time
from typing import Callable, List, Optional

from .atomic_write import atomic_write_json

#: The file that marks a folder as written by mmdmtl.
OUTPUT_MARKER = '.mmdmtl_output.json'
#: Names that never count as "someone else's data" (mmdmtl's own lock/marker).
_OWN_NAMES = {OUTPUT_MARKER, '.generate.lock'}


class OutputExistsError(FileExistsError):
    """mmdmtl refused to write into a folder/file it did not write."""


def _listing(names: List[str], limit: int = 5) -> str:
    shown = ', '.join(sorted(names)[:limit])
    more = len(names) - limit
    return shown + (f', ... (+{more} more)' if more > 0 else '')


def foreign_entries(path: str) -> List[str]:
    """The entries of folder ``path`` other than mmdmtl's marker and lock."""
    return [n for n in os.listdir(path) if n not in _OWN_NAMES]


def is_mmdmtl_output(path: str) -> bool:
    """Whether folder ``path`` carries mmdmtl's ownership marker."""
    return osp.isfile(osp.join(path, OUTPUT_MARKER))


def check_output_dir(path: str,
                     what: str = 'output folder',
                     owned: Optional[Callable[[str], bool]] = None) -> None:
    """Raise ``OutputExistsError`` unless mmdmtl may write into folder ``path``.

    Args:
        path: the folder.
        what: how the message names it (e.g. ``'--show-dir'``).
        owned: an extra test of ownership (e.g. "holds our manifest.json").
    """
    if not osp.exists(path):
        return
    if not osp.isdir(path):
        raise OutputExistsError(
            f'{what} {path} exists and is not a folder; give a new folder name')
    if is_mmdmtl_output(path) or (owned is not None and owned(path)):
        return
    entries = foreign_entries(path)
    if entries:
        raise OutputExistsError(
            f'refusing to write into {what} {path}: it already holds '
            f'{len(entries)} entr{"y" if len(entries) == 1 else "ies"} that '
            f'mmdmtl did not write ({_listing(entries)}); give an empty or new '
            f'folder (mmdmtl only writes into folders that are empty or carry '
            f'its marker {OUTPUT_MARKER})')


def claim_output_dir(path: str,
                     writer: str,
                     what: str = 'output folder',
                     owned: Optional[Callable[[str], bool]] = None) -> str:
    """``check_output_dir``, then create the folder and write the marker.

    Returns ``path``. Calling it again on the same folder is a no-op check.
    """
    check_output_dir(path, what, owned)
    os.makedirs(path, exist_ok=True)
    marker = osp.join(path, OUTPUT_MARKER)
    if not osp.isfile(marker):
        atomic_write_json(dict(writer=writer, created=time.strftime(
            '%Y-%m-%dT%H:%M:%S')), marker)
    return path


def check_output_file(path: str,
                      what: str = 'output file',
                      overwrite: bool = False,
                      flag: str = '--overwrite') -> None:
    """Refuse an existing output file unless ``overwrite``; the message names
    the file and the flag that allows it."""
    if osp.isdir(path):
        raise OutputExistsError(
            f'{what} {path} is a folder; give a file name')
    if osp.exists(path) and not overwrite:
        raise OutputExistsError(
            f'{what} {path} exists already; refusing to overwrite it (pass '
            f'{flag} to replace it, or give another name)')

