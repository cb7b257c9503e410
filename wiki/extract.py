"""Text inside documents, for search: the one door to pypdf, python-docx and odfpy.

A document is hostile input (a PDF whose content streams never end, a DOCX whose XML unzips to
gigabytes), so PDF, DOCX and ODT are parsed in a child process with a time limit, a CPU limit
and an address-space limit; when it runs over, it is killed and the file simply has no text.
Plain text needs no parser and is decoded here. Nothing is imported until a document comes.
"""

import os
import subprocess
import sys
from pathlib import Path

TIME_LIMIT = 10.0  # seconds of wall time per document
MEMORY_LIMIT = 768 * 1024 * 1024  # bytes of address space for the child
MAX_INPUT_BYTES = 64 * 1024 * 1024  # larger files are not read at all
MAX_TEXT_CHARS = 500_000  # text kept per document; enough for a long report

# Which parser reads which file name ending, and the bytes such a file starts with.
KINDS = {".pdf": "pdf", ".docx": "docx", ".odt": "odt",
         ".txt": "text", ".text": "text", ".csv": "text", ".tsv": "text", ".log": "text"}
_MAGIC = {"pdf": b"%PDF-", "docx": b"PK\x03\x04", "odt": b"PK\x03\x04"}
_ROOT = str(Path(__file__).resolve().parent.parent)


def kind_of(filename: str) -> str | None:
    """The parser for a file name ("pdf", "docx", "odt", "text"), or None."""
    return KINDS.get(os.path.splitext(filename.lower())[1])


def extract_text(filename: str, data: bytes, timeout: float = TIME_LIMIT) -> str | None:
    """The text of a document (PDF, DOCX, ODT, plain text), or None when there is none, the
    file is not what its name says, or reading it took too long or too much memory."""
    kind = kind_of(filename)
    if kind is None or len(data) > MAX_INPUT_BYTES:
        return None
    if kind == "text":
        return _plain_text(data)
    if not data[:1024].lstrip().startswith(_MAGIC[kind]):
        return None
    command = [sys.executable, "-I", "-c",
               f"import sys; sys.path.insert(0, {_ROOT!r}); "
               "from wiki.extract import _child; _child()", kind]
    try:
        result = subprocess.run(command, input=data, capture_output=True, timeout=timeout,
                                check=False)
    except subprocess.TimeoutExpired:  # run() has killed the child already
        return None
    if result.returncode != 0:
        return None
    text = result.stdout.decode("utf-8", errors="replace").strip()
    return text[:MAX_TEXT_CHARS] or None


def _plain_text(data: bytes) -> str | None:
    sample = data[:MAX_TEXT_CHARS * 4]
    if b"\0" in sample[:8192]:
        return None  # binary, whatever its name says
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Our cut fell inside a character, or the text is not UTF-8 (old Windows text).
        cut = len(data) > len(sample) and exc.reason == "unexpected end of data"
        text = sample[:exc.start].decode("utf-8") if cut \
            else sample.decode("cp1252", errors="replace")
    return text.strip()[:MAX_TEXT_CHARS] or None


# --- the child process -------------------------------------------------------------------------

def _child() -> None:
    """Read a document on stdin, write its text to stdout (exit 1 when it cannot be read)."""
    import io
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    cpu = int(TIME_LIMIT) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    kind = sys.argv[1]
    data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
    reader = {"pdf": _pdf_text, "docx": _docx_text, "odt": _odt_text}[kind]
    try:
        parts = reader(io.BytesIO(data))
        text, size = [], 0
        for part in parts:
            text.append(part)
            size += len(part) + 1
            if size > MAX_TEXT_CHARS:
                break
    except Exception:  # noqa: BLE001 - any failure of a parser on a bad file means "no text"
        sys.exit(1)
    sys.stdout.buffer.write("\n".join(text).encode("utf-8", errors="replace"))


def _pdf_text(stream):
    import logging

    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # broken PDFs log a lot
    reader = PdfReader(stream)
    if reader.is_encrypted and not reader.decrypt(""):
        return
    for page in reader.pages:
        yield page.extract_text() or ""


def _docx_text(stream):
    import docx

    document = docx.Document(stream)
    for paragraph in document.paragraphs:
        yield paragraph.text
    for table in document.tables:
        for row in table.rows:
            yield "\t".join(cell.text for cell in row.cells)


def _odt_text(stream):
    from odf import teletype
    from odf.namespaces import TEXTNS
    from odf.opendocument import load

    document = load(stream)
    for element in _blocks(document.body, {(TEXTNS, "h"), (TEXTNS, "p")}):
        yield teletype.extractText(element)


def _blocks(body, wanted: set):
    """Headings and paragraphs in document order (getElementsByType takes one kind)."""
    stack = [body]
    while stack:
        node = stack.pop()
        if getattr(node, "qname", None) in wanted:
            yield node
            continue  # a paragraph's text includes its spans
        stack.extend(reversed(node.childNodes))
