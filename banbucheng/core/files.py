"""Every file bbc writes, written one way: with one mode, never half-written.

The files hold citizens' personal data or facts about them (the store, backups,
reports, exports, documents), so each is created owner-only (0600) whatever the umask.
A center whose staff share an office folder may set ``BBC_FILE_MODE=0640`` (the group
may read) or ``0660`` (the group may also write); nothing is ever readable by others.

`write_atomic` writes a complete file or none: a temporary file in the target's folder,
flushed, given the mode, then renamed over the target. `create_empty` makes a new file
with the mode (the store, a backup being filled). `check_target` says in one Chinese
line why a path cannot be written before anything is done. Pure standard library.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from banbucheng.core.errors import BbcError, InvalidInput

DEFAULT_MODE = 0o600
MODES = {0o600: "仅所有者可读写", 0o640: "所有者读写、同组可读", 0o660: "所有者与同组可读写"}
ENV = "BBC_FILE_MODE"
NAME_MAX_BYTES = 255  # one name in a path (ext4, xfs, btrfs, NTFS via its UTF-16 limit)
PATH_MAX_BYTES = 4096


class CannotWrite(BbcError):
    """A file or folder the user named cannot be written (missing folder, no
    permission, disk full)."""

    exit_code = 73  # sysexits EX_CANTCREAT


def file_mode() -> int:
    """The mode of every file bbc creates: 0600, or BBC_FILE_MODE (0640 or 0660)."""
    text = os.environ.get(ENV, "").strip()
    if not text:
        return DEFAULT_MODE
    try:
        mode = int(text, 8)
    except ValueError:
        mode = -1
    if mode not in MODES:
        raise InvalidInput(f"环境变量 {ENV} 应为 0600、0640 或 0660（同组可读写，其他人不能读）")
    return mode


def mode_label(mode: int | None = None) -> str:
    mode = file_mode() if mode is None else mode
    return f"{MODES.get(mode, '')}（{mode:04o}）"


def os_reason(exc: OSError) -> str:
    """An operating-system error in the staff's words (strerror is English)."""
    reasons = {
        errno.ENOENT: "文件或目录不存在",
        errno.EACCES: "没有权限",
        errno.EPERM: "没有权限",
        errno.ENAMETOOLONG: "文件名过长",
        errno.ENOSPC: "磁盘空间不足",
        errno.EROFS: "文件系统只读",
        errno.EISDIR: "这是一个目录",
        errno.ENOTDIR: "路径中有一段不是目录",
        errno.EDQUOT: "超出磁盘配额",
        errno.EEXIST: "文件已存在",
    }
    return reasons.get(exc.errno or 0, f"系统错误 {errno.errorcode.get(exc.errno or 0, '')}")


def path_problem(text: str) -> str | None:
    """Why `text` cannot be a file name on this system, or None: empty, a NUL or other
    control character, characters that are not valid text (undecodable bytes from the
    command line), a name longer than the file system takes."""
    if not text.strip():
        return "文件路径为空"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        return "文件路径含有不可见的控制字符"
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:
        return "文件路径中含有无法识别的字符（不是有效的 UTF-8 文字）"
    if len(encoded) > PATH_MAX_BYTES:
        return "文件路径过长"
    if any(len(part) > NAME_MAX_BYTES for part in encoded.split(b"/")):
        return f"文件名过长（每一级至多 {NAME_MAX_BYTES} 字节，约 85 个汉字）"
    return None


def check_path(text: str | Path) -> Path:
    """A path the user typed, refused in one Chinese line if it cannot be one."""
    problem = path_problem(str(text))
    if problem:
        raise InvalidInput(problem)
    return Path(text).expanduser()


def check_target(path: Path) -> Path:
    """A file about to be written: a valid name, not a folder, in an existing folder
    we may write to. Checked before anything is done (or recorded)."""
    path = check_path(path)
    if path.is_dir():
        raise CannotWrite(f"无法写入 {path}：目标是一个目录")
    parent = path.parent
    if not parent.is_dir():
        raise CannotWrite(f"无法写入 {path}：目录不存在")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CannotWrite(f"无法写入 {path}：没有写入权限")
    return path


def create_empty(path: Path, mode: int | None = None) -> None:
    """Create a new, empty file with the mode (refuses an existing one: FileExistsError)."""
    mode = file_mode() if mode is None else mode
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode)
    try:
        os.fchmod(fd, mode)  # the umask may have taken bits the setting grants
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes | Iterable[str]) -> None:
    """Write `data` to `path` so that no reader ever sees a partial file: a temporary
    file in the same folder (created 0600), flushed, given the mode, then renamed over
    the target. Two writers at once each rename a complete file; the last one wins.
    `data` may be text made a piece at a time (a streamed list), written as it comes."""
    directory = path.parent
    mode = file_mode()
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name[:200]}.", suffix=".tmp")
    except OSError as exc:
        raise CannotWrite(f"无法写入 {directory}：{os_reason(exc)}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(data, bytes):
                handle.write(data)
            else:
                for chunk in data:
                    handle.write(chunk.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), mode)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise CannotWrite(f"无法写入 {path}：{os_reason(exc)}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    sync_directory(directory)


def sync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # not every file system can sync a directory; the rename is done anyway
    finally:
        os.close(fd)
