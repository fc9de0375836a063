"""What every user-facing tool of mmdmtl does with an error.

``run_tool(main)`` runs a tool's ``main``; an exception becomes a message on stderr
(``<tool>: error: <what went wrong>``, naming the file/argument and the fix as the
raising code wrote it; detail lines such as a checkpoint mismatch report follow
it) and exit status 1, with no Python traceback. ``--debug`` on the command line
(removed before the tool parses its arguments) or ``MMDMTL_DEBUG=1`` in the
environment re-raises the error instead, with its traceback.

Also here: checks of the kinds of the positional arguments (a config where an image
is expected, a truncated checkpoint), so that swapped or broken inputs are named
before a library fails on them with its own message.
"""
import os
import os.path as osp
import sys
import zipfile
from typing import Callable, List, Optional

#: The environment variable that shows tracebacks.
DEBUG_ENV = 'MMDMTL_DEBUG'
CONFIG_EXTS = ('.py', '.json', '.yml', '.yaml')
IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp',
              '.ppm', '.pgm', '.npy')


class UsageError(ValueError):
    """A command-line argument is wrong (the message names it and the fix)."""


def debug_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, '').strip().lower() not in ('', '0',
                                                                 'false', 'no')


def _message(err: BaseException) -> str:
    if isinstance(err, KeyError) and len(err.args) == 1:
        text = str(err.args[0])  # KeyError's str() adds quotes
    else:
        text = str(err)
    text = text.strip() or type(err).__name__
    return text


def format_error(err: BaseException, tool: str) -> str:
    """``<tool>: error: <first line>`` plus the message's further lines."""
    lines = _message(err).splitlines()
    kind = type(err).__name__
    head = f'{tool}: error: {lines[0]}'
    if kind not in ('UsageError', 'SystemExit'):
        head += f' [{kind}]'
    rest = [f'  {line}' if not line.startswith(' ') else line
            for line in lines[1:]]
    return '\n'.join([head] + rest + [
        f'  (run with --debug or {DEBUG_ENV}=1 for the traceback)'])


def run_tool(main: Callable, argv: Optional[List[str]] = None,
             tool: Optional[str] = None):
    """Run ``main(argv)`` with mmdmtl's error policy (see the module doc).

    ``argv`` defaults to ``sys.argv[1:]``; ``--debug`` is taken out of it.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if '--debug' in argv:
        argv = [a for a in argv if a != '--debug']
        os.environ[DEBUG_ENV] = '1'
    tool = tool or osp.basename(sys.argv[0] or 'mmdmtl')
    try:
        return main(argv)
    except (SystemExit, KeyboardInterrupt):
        raise
    except Exception as err:  # noqa: BLE001 -- the policy is for every error
        if debug_enabled():
            raise
        print(format_error(err, tool), file=sys.stderr, flush=True)
        sys.exit(1)


def check_config_arg(path: str, arg: str = 'config') -> None:
    """The ``config`` argument exists and is a config file (not an image, not a
    checkpoint)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{arg} file not found: {path}')
    ext = osp.splitext(path)[1].lower()
    if ext not in CONFIG_EXTS:
        raise UsageError(
            f'{arg} {path} is not a config file (expected one of '
            f'{"/".join(CONFIG_EXTS)}, got {ext or "no extension"}); check the '
            'order of the positional arguments')


def check_checkpoint_arg(path: str, arg: str = 'checkpoint') -> None:
    """The checkpoint exists, is not empty and, for the zip format of
    ``torch.save`` (torch >= 1.6), is complete: a truncated download or an
    interrupted copy is named here instead of failing in torch's zip reader."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{arg}: checkpoint not found: {path}')
    ext = osp.splitext(path)[1].lower()
    if ext in CONFIG_EXTS:
        raise UsageError(
            f'{arg} {path} is a config file, not a checkpoint; check the order '
            'of the positional arguments')
    size = osp.getsize(path)
    if size == 0:
        raise UsageError(f'{arg} {path} is empty (0 bytes); re-download or '
                         're-save it')
    with open(path, 'rb') as f:
        head = f.read(4)
    if head[:2] == b'PK':
        try:
            with zipfile.ZipFile(path) as z:
                z.namelist()
        except (zipfile.BadZipFile, OSError, EOFError) as err:
            raise UsageError(
                f'{arg} {path} is truncated or damaged ({size} bytes; '
                f'zip archive unreadable: {err}); re-download or re-save it '
                '(an interrupted copy or save leaves such files)') from None
    elif head[:1] != b'\x80':
        # Neither torch's zip format nor a pickle (the legacy format).
        raise UsageError(
            f'{arg} {path} is not a PyTorch checkpoint (it starts with '
            f'{head!r}); give the .pth file that training wrote')


def check_image_arg(path: str, arg: str = 'img') -> None:
    """An input image (or folder of images) exists and is not a config or a
    checkpoint given in the wrong position."""
    if not osp.exists(path):
        raise FileNotFoundError(f'{arg}: input image or folder not found: '
                                f'{path}')
    ext = osp.splitext(path)[1].lower()
    if osp.isfile(path) and (ext in CONFIG_EXTS or ext in ('.pth', '.pt')):
        raise UsageError(
            f'{arg} {path} is a {"config" if ext in CONFIG_EXTS else "checkpoint"}'
            ', not an image; the positional arguments are IMAGE CONFIG '
            'CHECKPOINT')
