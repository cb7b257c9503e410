"""Files attached to pages: upload, replace, delete, list with history, serve safely, thumbnails,
links from the page's text, and their text for search. The one door to Pillow.

Layout: the files of the page `Team/Minutes` live in the folder `Team/Minutes/` beside
`Team/Minutes.md`, the folder that also holds its sub-pages (`Team/Minutes/2026.md`). Attached
files never end in `.md`, so a file is never a page and a page never a file; permission rules on
`Team/Minutes` cover `Team/Minutes/…`, so the push policy, search filters and every other
prefix check see a page's files exactly as they see the page. A file whose name equals a
sub-namespace (`2026` beside the folder `2026/`) cannot exist in git and is refused.

Attachments inherit their page's permissions: reading a file needs reading the page (a page
the reader may not see makes its files 404 too), changing one needs writing the page.
"""

import contextlib
import io
import mimetypes
import os
import re
import tempfile
import threading
import unicodedata
import warnings
from collections.abc import Container, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from wiki import extract, paths
from wiki.catalog import Catalog, Change, commit_message
from wiki.config import Settings
from wiki.errors import InvalidInput, InvalidPath, NotFound, PageNotFound, WikiError
from wiki.names import REFUSED, NewNames, looks_like
from wiki.permissions import Permissions
from wiki.render import Renderer
from wiki.repo import Delete, Repository, Write
from wiki.users import Account, commit_author

MAX_NAME_BYTES = 120  # of a file name; leaves room for deep page names in 255-byte paths
THUMB_EDGE = 240  # pixels, the longer side of a thumbnail
MAX_IMAGE_PIXELS = 40_000_000  # a thumbnail is refused above this (decompression bombs)
HISTORY_LIMIT = 500  # commits of a page's folder read for its attachment list
THUMB_VERSION = "1"  # part of the thumbnail cache folder; bump when thumbnails change
# Raster formats shown inline, checked by the bytes (Pillow), never by the name.
INLINE_IMAGES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif",
                 "WEBP": "image/webp"}
# Types a download may announce; anything else (HTML, SVG, XML, scripts, …) goes out as
# application/octet-stream, and every file carries nosniff and a sandbox CSP besides.
DOWNLOAD_TYPES = {
    "application/pdf", "application/zip", "application/msword", "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint", "application/rtf", "text/plain", "text/csv",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation", "audio/mpeg", "video/mp4",
}
_EXTRA_TYPES = {".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                ".odt": "application/vnd.oasis.opendocument.text",
                ".ods": "application/vnd.oasis.opendocument.spreadsheet",
                ".odp": "application/vnd.oasis.opendocument.presentation",
                ".webp": "image/webp"}
_UNSAFE_CHARS = re.compile(r"[^\w.()+-]+")


class AttachmentNotFound(NotFound):
    """This file does not exist."""


class AttachmentTooLarge(WikiError):
    """The file is larger than this wiki allows."""

    status = 413
    code = "too_large"


class ImageTooLarge(WikiError):
    """This image has too many pixels to make a preview of it."""

    status = 422
    code = "image_too_large"


@dataclass(frozen=True)
class Version:
    revision: str
    author: str
    date: datetime
    message: str
    action: str  # "added", "replaced" or "deleted"


@dataclass(frozen=True)
class Attachment:
    page: str
    name: str
    path: str  # in the repository; also the address under /file/
    blob: str
    size: int
    mimetype: str  # what the name suggests, for people; serving decides by the bytes
    is_image: bool  # by the name: worth asking for a thumbnail
    history: tuple[Version, ...]  # newest first

    @property
    def author(self) -> str:
        return self.history[0].author if self.history else ""

    @property
    def updated(self) -> datetime | None:
        return self.history[0].date if self.history else None


@dataclass(frozen=True)
class Listing:
    page: str
    page_exists: bool
    files: tuple[Attachment, ...]
    deleted: tuple[tuple[str, str, tuple[Version, ...]], ...]  # (name, path, history)


@dataclass(frozen=True)
class Upload:
    page: str
    name: str
    path: str
    revision: str
    replaced: bool = False
    unchanged: bool = False


@dataclass(frozen=True)
class Served:
    """How to send a file: `inline` only for raster images verified by their bytes."""

    name: str
    data: bytes
    blob: str
    mimetype: str
    inline: bool
    unchanged: bool = False  # the caller has this version already: nothing was read


@dataclass(frozen=True)
class Document:
    """An attached document's text, for the search index."""

    page: str
    name: str
    path: str
    blob: str
    text: str


def clean_name(filename: str, max_bytes: int = MAX_NAME_BYTES) -> str:
    """A safe file name: NFKC, no folders, only letters, digits and `._-()+`, no leading dot
    or dash, at most `max_bytes` bytes (the extension kept), never `.md` (a page)."""
    if not isinstance(filename, str):
        raise InvalidInput("A file name must be text.")
    # NFKC: full-width letters, ligatures and the like become their plain forms (issue 12).
    name = unicodedata.normalize("NFKC", filename)
    name = name.replace("\\", "/").rpartition("/")[2]  # some browsers send C:\path\name
    name = _UNSAFE_CHARS.sub("_", name)  # spaces, controls, bidi, quotes, colons, …
    name = re.sub(r"_{2,}", "_", name).strip("._-")
    if name.lower().endswith(paths.PAGE_SUFFIX):
        name += ".txt"  # a page is never uploaded as a file
    stem, ext = os.path.splitext(name)
    if len(ext.encode("utf-8")) > 16:
        stem, ext = name, ""
    while stem and len((stem + ext).encode("utf-8")) > max_bytes:
        stem = stem[:-1]
    name = (stem.rstrip("._-") + ext) if stem else ""
    if not stem or not name or name.startswith("."):
        raise InvalidInput("This file name cannot be used; give the file a name with letters "
                           "or digits.")
    return name


def file_url(path: str) -> str:
    return "/file/" + quote(path, safe="/")


def split_path(path: str) -> tuple[str, str]:
    """`Team/Minutes/photo.png` -> (`Team/Minutes`, `photo.png`); AttachmentNotFound when
    that is not the path of a page's file."""
    page, _, name = (path or "").rpartition("/")
    try:
        page = paths.normalize(page)
    except WikiError as exc:
        raise AttachmentNotFound() from exc
    if not name or name.lower().endswith(paths.PAGE_SUFFIX) or name != name.strip() \
            or name.startswith(".") or unicodedata.normalize("NFC", name) != name:
        raise AttachmentNotFound()
    return page, name


def _mimetype(name: str) -> str:
    ext = os.path.splitext(name.lower())[1]
    return _EXTRA_TYPES.get(ext) or mimetypes.guess_type("x" + ext)[0] \
        or "application/octet-stream"


class _Index:
    """The attached files at one commit: folder key -> {name key: (name, path, blob)}."""

    def __init__(self, tree: dict[str, str]):
        self.files: dict[str, dict[str, tuple[str, str, str]]] = {}
        self.folders: dict[str, str] = {}  # key -> spelling, of every folder
        for path, blob in tree.items():
            folder, _, name = path.rpartition("/")
            parts = path.split("/")
            for depth in range(1, len(parts)):
                spelled = "/".join(parts[:depth])
                self.folders.setdefault(paths.key(spelled), spelled)
            if folder and not name.lower().endswith(paths.PAGE_SUFFIX):
                self.files.setdefault(paths.key(folder), {})[paths.key(name)] = \
                    (name, path, blob)

    def folder(self, page: str) -> str:
        """The folder of a page's files as spelled in git (the page's spelling when new)."""
        return self.folders.get(paths.key(page), page)

    def of(self, page: str) -> dict[str, tuple[str, str, str]]:
        return self.files.get(paths.key(page), {})


class Attachments:
    def __init__(self, repo: Repository, catalog: Catalog, renderer: Renderer,
                 permissions: Permissions, settings: Settings, names: NewNames | None = None):
        self.repo = repo
        self.catalog = catalog
        self.names = names or NewNames(catalog, permissions)  # rules for new names
        self.renderer = renderer
        self.permissions = permissions
        self.settings = settings
        self._index_memo: tuple[str | None, _Index] | None = None
        self._lock = threading.Lock()

    # --- reading -------------------------------------------------------------------------------

    def _index(self, head: str | None) -> _Index:
        memo = self._index_memo
        if memo is not None and memo[0] == head:
            return memo[1]
        index = _Index(self.repo.tree(head) if head else {})
        with self._lock:
            self._index_memo = (head, index)
        return index

    def _page_name(self, name: str) -> tuple[str, bool]:
        info = self.catalog.page(name)
        return (info.name, True) if info else (name, False)

    def listing(self, account: Account, page: str) -> Listing:
        """The files of a page with their history; PageNotFound when neither page nor files
        exist, or the account may not read the page."""
        page = paths.normalize(page)
        self.permissions.require_read(account, page)
        head = self.catalog.ensure_current()
        page, exists = self._page_name(page)
        index = self._index(head)
        current = index.of(page)
        if not exists and not current:
            raise PageNotFound()
        folder = index.folder(page)
        history = self._histories(folder) if head else {}
        sizes = self.repo.sizes([blob for _, _, blob in current.values()])
        files = tuple(sorted(
            (Attachment(page=page, name=name, path=path, blob=blob, size=sizes.get(blob, 0),
                        mimetype=_mimetype(name), is_image=_mimetype(name) in
                        INLINE_IMAGES.values(), history=tuple(history.get(key, ("", []))[1]))
             for key, (name, path, blob) in current.items()),
            key=lambda a: paths.key(a.name)))
        deleted = tuple(sorted(
            ((name, f"{folder}/{name}", tuple(versions))
             for key, (name, versions) in history.items() if key not in current),
            key=lambda d: paths.key(d[0])))
        return Listing(page=page, page_exists=exists, files=files, deleted=deleted)

    def _histories(self, folder: str) -> dict[str, tuple[str, list[Version]]]:
        """name key -> (latest spelling, versions newest first) of every file that was ever
        directly in `folder` (one `git log` of the folder)."""
        found: dict[str, tuple[str, list[Version]]] = {}
        prefix = folder + "/"

        def direct(path: str | None) -> str | None:
            if not path or not path.startswith(prefix):
                return None
            name = path[len(prefix):]
            if "/" in name or name.lower().endswith(paths.PAGE_SUFFIX):
                return None
            return name

        for commit in self.repo.log(None, paths=[folder], limit=HISTORY_LIMIT):
            for change in commit.changes:
                touched = []
                if change.status == "R":
                    touched = [(direct(change.old_path), "deleted"), (direct(change.path),
                                                                      "added")]
                else:
                    action = {"A": "added", "M": "replaced", "D": "deleted"}.get(
                        change.status, "replaced")
                    touched = [(direct(change.path), action)]
                for name, action in touched:
                    if name is None:
                        continue
                    version = Version(revision=commit.id, author=commit.author.name,
                                      date=commit.date, message=commit.message.strip(),
                                      action=action)
                    found.setdefault(paths.key(name), (name, []))[1].append(version)
        return found

    def _locate(self, account: Account, path: str) -> tuple[str, str, str]:
        """(page, name, blob id) of a file the account may read, at the head."""
        page, name = split_path(path)
        self.permissions.require_read(account, page)
        head = self.catalog.ensure_current()
        found = self._index(head).of(page).get(paths.key(name))
        if found is None:
            raise AttachmentNotFound()
        return page, found[0], found[2]

    def open(self, account: Account, path: str, revision: str | None = None,
             unless: Container[str] = ()) -> Served:
        """A file to send, with how to send it; old versions with `revision`. When the
        current version's blob id is in `unless` (the browser's ETags), it is not read."""
        if revision:
            page, name = split_path(path)
            self.permissions.require_read(account, page)
            try:
                # The path whose page was checked, not the raw one (which may differ by a
                # space or a `.md` that normalising removed).
                blob, data = self.repo.read(paths.revision(revision), f"{page}/{name}")
            except NotFound as exc:
                raise AttachmentNotFound() from exc
        else:
            page, name, blob = self._locate(account, path)
            if blob in unless:
                return Served(name=name, data=b"", blob=blob, mimetype="", inline=False,
                              unchanged=True)
            data = self.repo.read_blob(blob)
        image = _image_type(data)
        if image:
            return Served(name=name, data=data, blob=blob, mimetype=image, inline=True)
        mimetype = _mimetype(name)
        if mimetype not in DOWNLOAD_TYPES:
            mimetype = "application/octet-stream"
        return Served(name=name, data=data, blob=blob, mimetype=mimetype, inline=False)

    def thumbnail(self, account: Account, path: str) -> tuple[bytes, str, str]:
        """(data, mimetype, blob id) of a small preview of an image; AttachmentNotFound when
        the file is no image, ImageTooLarge when it has too many pixels."""
        _, _, blob = self._locate(account, path)
        folder = self.settings.cache / "thumbs" / THUMB_VERSION / blob[:2]
        for ext, mimetype in ((".png", "image/png"), (".jpg", "image/jpeg")):
            cached = folder / (blob + ext)
            with contextlib.suppress(OSError):
                return cached.read_bytes(), mimetype, blob
        data, ext = _make_thumbnail(self.repo.read_blob(blob))
        _write_atomic(folder / (blob + ext), data)
        return data, "image/png" if ext == ".png" else "image/jpeg", blob

    def link_files(self, page: str, html_text: str) -> str:
        """Relative links and images in a page's HTML pointed at its files (Pages hook)."""
        files: dict | None = None

        def resolve(name: str) -> str | None:
            nonlocal files
            if files is None:  # only pages that link to files need the listing
                files = self._index(self.catalog.seen_head or self.repo.head()).of(page)
            found = files.get(paths.key(name))
            return file_url(found[1]) if found else None

        return self.renderer.link_files(html_text, resolve,
                                        "/attachments/" + quote(page, safe="/"))

    # --- writing -------------------------------------------------------------------------------

    def upload(self, account: Account, page: str, filename: str, data: bytes,
               replace: bool = True, message: str = "") -> Upload:
        """Attach a file to a page in one commit by `account`. With `replace`, a file of the
        same name (in any case) gets a new version; without, the new file gets a free name
        (`photo-2.png`), as for images pasted into the editor."""
        page = paths.normalize(page)
        self.permissions.require_write(account, page)
        if not isinstance(data, bytes):
            raise InvalidInput("A file must be bytes.")
        limit = self.settings.max_attachment_bytes
        if len(data) > limit:
            raise AttachmentTooLarge(too_large_message(len(data), limit))
        page = self.names.check(account, page)  # a page that does not exist yet gets a folder
        placed: dict = {}

        def plan(head) -> Change:
            page_name, _ = self._page_name(page)
            index = self._index(head)
            folder = index.folder(page_name)
            room = paths.MAX_NAME_BYTES - len(paths.PAGE_SUFFIX) - len(
                folder.encode("utf-8")) - 1
            if room < 12:
                raise InvalidInput("This page's name is too long to attach files to it.")
            max_bytes = min(MAX_NAME_BYTES, room)
            name = clean_name(filename, max_bytes)
            existing = index.of(page_name).get(paths.key(name))
            if existing and replace:
                name = existing[0]
            else:
                name = self._new_name(account, index, page_name, folder, name, max_bytes)
            replaced = bool(existing and replace)
            placed.update(page=page_name, name=name, path=f"{folder}/{name}", replaced=replaced,
                          head=head)
            verb = f"Update {name} on" if replaced else f"Attach {name} to"
            return Change([Write(placed["path"], data)],
                          commit_message(message, f"{verb} {page_name}"))

        revision = self.catalog.commit(plan, commit_author(account, self.settings.author_host))
        if revision is None:
            return Upload(placed["page"], placed["name"], placed["path"], placed["head"] or "",
                          replaced=True, unchanged=True)
        return Upload(placed["page"], placed["name"], placed["path"], revision,
                      replaced=placed["replaced"])

    def _new_name(self, account: Account, index: _Index, page: str, folder: str, name: str,
                  max_bytes: int) -> str:
        """The name a new file gets in `folder`: `name` when free, else the first free
        `name-2`, `name-3`, … A file's path is a page's path too (`Public/Secret2` blocks the
        page `Public/Secret2` from having files or sub-pages), so every candidate must be
        writable by the uploader and pass the rules for new names; a candidate taken by
        something the uploader cannot see is refused with the message of any refused name,
        never skipped, since the next free name would tell that it exists (issue 12, item 4).
        """
        candidates = _candidates(name, max_bytes)
        for candidate in candidates:
            path = f"{folder}/{candidate}"
            if not self.permissions.can_write(account, path):
                raise InvalidPath(REFUSED)
            paths.check_new(candidate)  # its own rules, named (a device name, …)
            self.names.check(account, path)  # look-alikes of pages and namespaces
            for other, _path, _blob in index.of(page).values():
                if looks_like(candidate, other):
                    raise InvalidPath(f"{candidate!r} looks like the file {other} of this "
                                      "page; choose a name that differs visibly.")
            taken = paths.key(candidate) in index.of(page)
            if not taken and (self.catalog.page(path) or paths.key(path) in index.folders):
                if not self._shows_anything(account, index, path):
                    raise InvalidPath(REFUSED)
                taken = True
            if not taken:
                return candidate
        raise InvalidInput("There are too many files of this name.")

    def _shows_anything(self, account: Account, index: _Index, path: str) -> bool:
        """Whether the account can see the page `path` or a page or file below it (a folder
        is only a prefix: what shows it is what it holds)."""
        if self.catalog.page(path):
            return self.permissions.can_read(account, path)
        key = paths.key(path)
        below = key + "/"
        # A file is seen by whoever reads the page its folder belongs to.
        return any(self.permissions.can_read(account, index.folder(folder))
                   for folder in index.files if folder == key or folder.startswith(below)) \
            or any(self.permissions.can_read(account, page.name)
                   for page in self.catalog.pages(path)[1])

    def delete(self, account: Account, page: str, filename: str, message: str = "") -> str:
        """Remove a file from the page (its versions stay in history)."""
        page = paths.normalize(page)
        self.permissions.require_write(account, page)

        def plan(head) -> Change:
            page_name, _ = self._page_name(page)
            found = self._index(head).of(page_name).get(paths.key(str(filename or "")))
            if found is None:
                raise AttachmentNotFound()
            return Change([Delete(found[1])],
                          commit_message(message, f"Delete {found[0]} from {page_name}"))

        return self.catalog.commit(plan, commit_author(account, self.settings.author_host))

    # --- search ---------------------------------------------------------------------------------

    def document(self, path: str, blob: str, name: str) -> Document | None:
        if extract.kind_of(name) is None:
            return None
        page = paths.page_of_file(path) or path.rpartition("/")[0]
        cache = self.settings.cache / "extract" / blob[:2] / f"{blob}.txt"
        try:
            text = cache.read_text("utf-8")
        except OSError:
            size = self.repo.sizes([blob]).get(blob, 0)
            text = "" if size > extract.MAX_INPUT_BYTES else (
                extract.extract_text(name, self.repo.read_blob(blob)) or "")
            _write_atomic(cache, text.encode("utf-8"))
        if not text:
            return None
        return Document(page=page, name=name, path=path, blob=blob, text=text)


def too_large_message(size: int | None, limit: int) -> str:
    mb = limit / (1024 * 1024)
    if size:
        return (f"A file can be at most {mb:.0f} MB ({limit:,} bytes); this one has "
                f"{size:,} bytes.")
    return f"A file can be at most {mb:.0f} MB ({limit:,} bytes)."


def _candidates(name: str, max_bytes: int) -> Iterator[str]:
    """`photo.png`, then `photo-2.png`, `photo-3.png`, … within `max_bytes`."""
    yield name
    stem, ext = os.path.splitext(name)
    for number in range(2, 10_000):
        suffix = f"-{number}"
        yield clean_name(stem[:max(1, max_bytes - len((suffix + ext).encode()))]
                         + suffix + ext, max_bytes)


def _write_atomic(target: Path, data: bytes) -> None:
    """Derived data: written whole or not at all; failing to cache is not an error."""
    with contextlib.suppress(OSError):
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


# --- images (Pillow) -------------------------------------------------------------------------

def _open_image(data: bytes):
    """A Pillow image of verified inline format, headers read only; None otherwise."""
    from PIL import Image, UnidentifiedImageError

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=list(INLINE_IMAGES))
        except (UnidentifiedImageError, Image.DecompressionBombError,
                Image.DecompressionBombWarning, OSError, ValueError, SyntaxError):
            return None
    return image if image.format in INLINE_IMAGES else None


def _image_type(data: bytes) -> str | None:
    """The type of a raster image Pillow recognises by its bytes, or None (HTML called
    `photo.png`, SVG, damaged files and images too large to be sensible are not images)."""
    image = _open_image(data)
    if image is None:
        return None
    with image:
        return INLINE_IMAGES[image.format]


def _make_thumbnail(data: bytes) -> tuple[bytes, str]:
    from PIL import Image

    image = _open_image(data)
    if image is None:
        # Refused at open for its size (Pillow's own bomb check) or not an image at all.
        pixels = _declared_pixels(data)
        if pixels and pixels > MAX_IMAGE_PIXELS:
            raise ImageTooLarge(_too_many_pixels(pixels))
        raise AttachmentNotFound("This file is not an image.")
    with image:
        pixels = image.width * image.height
        if pixels > MAX_IMAGE_PIXELS:
            raise ImageTooLarge(_too_many_pixels(pixels))
        image.draft("RGB", (THUMB_EDGE, THUMB_EDGE))  # JPEG: decode at a smaller scale
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image.thumbnail((THUMB_EDGE, THUMB_EDGE))
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError,
                Image.DecompressionBombWarning) as exc:
            raise AttachmentNotFound("This image is damaged.") from exc
        out = io.BytesIO()
        if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
            image.convert("RGBA").save(out, "PNG", optimize=True)
            return out.getvalue(), ".png"
        image.convert("RGB").save(out, "JPEG", quality=85)
        return out.getvalue(), ".jpg"


def _declared_pixels(data: bytes) -> int | None:
    """Width × height a PNG declares in its header (Pillow refuses to open huge ones)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big") * int.from_bytes(data[20:24], "big")
    return None


def _too_many_pixels(pixels: int) -> str:
    return (f"This image has {pixels / 1e6:,.0f} million pixels; previews are made of images "
            f"up to {MAX_IMAGE_PIXELS / 1e6:,.0f} million.")
