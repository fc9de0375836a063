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



class UniqueOutputNames:
    """One output name per input for one run, so no two inputs share a file.

    ``name(input_path)`` is the input's file stem (``a/0000.png`` -> ``0000``);
    when another input of the same run has that stem already, the parent folder
    is added (``b/0000.png`` -> ``b_0000``), then the extension (``photo.jpg``
    beside ``photo.png`` -> ``photo_jpg``), then a counter. The same input gets
    the same name again. Inputs without a path (arrays) are numbered
    ``00000000``, ``00000001``, ... over the whole run. ``renamed`` lists
    ``(input, name)`` of the inputs that did not keep their stem.

    ``check_target(path)`` returns a notice when ``path`` exists and this run
    did not write it (an earlier run's output about to be replaced).
    """

    def __init__(self) -> None:
        self._taken = {}
        self._by_input = {}
        self._count = 0
        self._written = set()
        self.renamed: List[tuple] = []

    def _take(self, name: str, key: str) -> str:
        self._taken[name] = key
        self._by_input[key] = name
        return name

    def name(self, input_path: Optional[str] = None) -> str:
        if not input_path:
            while f'{self._count:08d}' in self._taken:
                self._count += 1
            name = f'{self._count:08d}'
            self._count += 1
            return self._take(name, f'<array {name}>')
        key = osp.normpath(osp.abspath(str(input_path)))
        if key in self._by_input:
            return self._by_input[key]
        stem, ext = osp.splitext(osp.basename(key))
        parent = osp.basename(osp.dirname(key))
        candidates = [stem]
        if parent:
            candidates.append(f'{parent}_{stem}')
        candidates.append(f'{candidates[-1]}_{ext.lstrip(".")}' if ext else
                          f'{candidates[-1]}_')
        for name in candidates:
            if name not in self._taken:
                break
        else:
            i = 2
            while f'{candidates[-1]}_{i}' in self._taken:
                i += 1
            name = f'{candidates[-1]}_{i}'
        if name != stem:
            self.renamed.append((str(input_path), name))
        return self._take(name, key)

    def check_target(self, path: str) -> Optional[str]:
        """A notice when ``path`` holds a file this run did not write."""
        path = osp.normpath(osp.abspath(path))
        notice = None
        if path not in self._written and osp.exists(path):
            notice = (f'replacing {path}, written before this run (an earlier '
                      'run into the same output folder)')
        self._written.add(path)
        return notice
