"""The one way mmdmtl writes a file atomically, and cleans up after killed writes.

``atomic_write_bytes`` writes to a temporary file in the same folder (same file
system, so the final rename is atomic), fsyncs it and renames it over the target
(``os.replace`` is atomic on POSIX and Windows): a reader sees the old file or the
complete new one, never half of one. Every temporary file is named
``.<name>.mmdmtl-<random>.tmp``; ``remove_own_tmp_files`` deletes only names of
that pattern, so a user's own ``.notes.tmp`` in the same folder is never touched.
"""
import json
import os
import os.path as osp
import re
import tempfile
from typing import List, Union

#: Infix and suffix of mmdmtl's temporary files (``.<name>.mmdmtl-<random>.tmp``).
TMP_INFIX = '.mmdmtl-'
TMP_SUFFIX = '.tmp'
_OWN_TMP = re.compile(r'^\..+\.mmdmtl-[A-Za-z0-9_]+\.tmp$')


def is_own_tmp_file(name: str) -> bool:
    """Whether a file name is one of mmdmtl's temporary files."""
    return bool(_OWN_TMP.match(name))


def atomic_write_bytes(data: bytes, filepath: Union[str, os.PathLike]) -> None:
    """Write ``data`` to ``filepath`` so that the file is either absent/old or
    complete. On any error the temporary file is removed and the error re-raised.
    """
    filepath = os.fspath(filepath)
    dirname = osp.dirname(osp.abspath(filepath))
    os.makedirs(dirname, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(
        prefix=f'.{osp.basename(filepath)}{TMP_INFIX}', suffix=TMP_SUFFIX,
        dir=dirname)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, filepath)
    except BaseException:
        if osp.exists(tmp_path):
            os.remove(tmp_path)
        raise
    # Persist the rename itself (the directory entry); best effort where the
    # platform cannot open directories.
    try:
        dir_fd = os.open(dirname, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def atomic_write_text(text: str,
                      filepath: Union[str, os.PathLike],
                      encoding: str = 'utf-8') -> None:
    """``atomic_write_bytes`` for text."""
    atomic_write_bytes(text.encode(encoding), filepath)


def atomic_write_json(obj, filepath: Union[str, os.PathLike],
                      indent: int = 2) -> None:
    """``atomic_write_bytes`` for a JSON document."""
    atomic_write_text(json.dumps(obj, indent=indent), filepath)


def remove_own_tmp_files(dirname: str) -> List[str]:
    """Delete the temporary files that killed atomic writes of mmdmtl left in
    ``dirname`` (only ``.<name>.mmdmtl-<random>.tmp``); returns their paths."""
    removed = []
    if not osp.isdir(dirname):
        return removed
    for name in os.listdir(dirname):
        if is_own_tmp_file(name):
            path = osp.join(dirname, name)
            try:
                os.remove(path)
                removed.append(path)
            except OSError:
                pass
    return removed
