"""Attachments without Flask: names, paths, links in rendered pages, document text for search."""

import io

import pytest

from wiki import attachments, extract
from wiki.errors import InvalidInput
from wiki.render import Renderer
from wiki.users import Account


def pdf_with_text(text: str) -> bytes:
    """A minimal one-page PDF showing `text` in Helvetica (built by hand, offsets computed)."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def docx_with_text(text: str) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Notulen", 1)
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def odt_with_text(text: str) -> bytes:
    from odf.opendocument import OpenDocumentText
    from odf.text import P

    document = OpenDocumentText()
    document.text.addElement(P(text=text))
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()


# --- names -------------------------------------------------------------------------------------

@pytest.mark.parametrize("sent, clean", [
    ("photo.png", "photo.png"),
    ("C:\\Users\\ann\\My Photo.PNG", "My_Photo.PNG"),
    ("../../etc/passwd", "passwd"),
    ("README.md", "README.md.txt"),
    ("Notes.MD", "Notes.MD.txt"),
    ("-rf.txt", "rf.txt"),
    ("naïve\u0308.txt", "naïvë.txt"),  # NFC joins the accent to its letter
    ("e\u0301té.pdf", "été.pdf"),
    ("tab\there.txt", "tab_here.txt"),
])
def test_clean_name(sent, clean):
    assert attachments.clean_name(sent) == clean


def test_clean_name_keeps_the_extension_when_shortening():
    name = attachments.clean_name("é" * 200 + ".docx")
    assert name.endswith(".docx") and len(name.encode()) <= attachments.MAX_NAME_BYTES


@pytest.mark.parametrize("sent", ["", "..", ".", "___", "/", "\u202e"])
def test_clean_name_refuses_names_without_letters(sent):
    with pytest.raises(InvalidInput):
        attachments.clean_name(sent)


def test_split_path():
    assert attachments.split_path("Team/Minutes/a.png") == ("Team/Minutes", "a.png")
    for bad in ("a.png", "Team/../x.png", "Team/Minutes.md", "Team/.git", "Team/.hidden",
                "Team/x.MD", ".git/config"):
        with pytest.raises(attachments.AttachmentNotFound):
            attachments.split_path(bad)


# --- links in pages ----------------------------------------------------------------------------

def test_relative_images_and_links_resolve_and_missing_ones_show():
    renderer = Renderer()
    html = renderer.render("![A <b>chart</b>](chart.png) [notes](notes%20v2.pdf) [page](Other) "
                           "[web](https://example.org/x.pdf) ![gone](gone.png) [x](lost.pdf) "
                           "[p](Page.md) [[Wiki]]\n").html
    files = {"chart.png": "/file/T/chart.png", "notes v2.pdf": "/file/T/notes%20v2.pdf"}
    out = renderer.link_files(html, files.get, "/attachments/T")
    assert '<img src="/file/T/chart.png"' in out
    assert 'href="/file/T/notes%20v2.pdf"' in out
    assert 'href="Other"' in out and 'href="https://example.org/x.pdf"' in out
    assert 'href="Page.md"' in out
    assert '<span class="missing-file" title="gone.png">gone</span>' in out
    assert '<a class="missing-file" href="/attachments/T">x</a>' in out
    assert "<b>" not in out


def test_alt_text_of_a_missing_image_stays_text():
    renderer = Renderer()
    html = renderer.render('![<script>alert("x")</script>](gone.png)\n').html
    out = renderer.link_files(html, lambda name: None, "/attachments/T")
    assert "<script>" not in out and "&lt;script&gt;" in out


# --- document text -----------------------------------------------------------------------------

@pytest.mark.parametrize("name, make", [("minutes.pdf", pdf_with_text),
                                        ("minutes.docx", docx_with_text),
                                        ("minutes.odt", odt_with_text)])
def test_extract_text_from_documents(name, make):
    text = extract.extract_text(name, make("Begroting zeventien"))
    assert text is not None and "Begroting zeventien" in text


def test_extract_plain_text_and_refuse_the_rest():
    assert extract.extract_text("a.txt", "Ünïcode\n".encode()) == "Ünïcode"
    assert extract.extract_text("a.csv", "Caf\xe9".encode("cp1252")) == "Café"
    assert extract.extract_text("a.txt", b"\0\1\2binary") is None
    assert extract.extract_text("a.png", b"text") is None
    assert extract.extract_text("a.pdf", b"<html>not a pdf") is None
    assert extract.extract_text("a.docx", b"PK\x03\x04 broken zip") is None


def test_extraction_that_runs_too_long_is_given_up():
    assert extract.extract_text("slow.pdf", pdf_with_text("x"), timeout=0.001) is None


def test_attached_documents_give_their_text_and_other_files_none(services):
    admin = Account(id=1, name="admin", role="admin")
    services.pages.save(admin, "Team/Minutes", "text\n")
    files = services.attachments
    pdf = files.upload(admin, "Team/Minutes", "plan.pdf", pdf_with_text("Zonnepanelen"))
    png = files.upload(admin, "Team/Minutes", "photo.png", b"\x89PNG not really")
    tree = services.repo.tree()
    found = files.document(pdf.path, tree[pdf.path], pdf.name)
    assert (found.page, found.name, found.path) == ("Team/Minutes", "plan.pdf",
                                                    "Team/Minutes/plan.pdf")
    assert "Zonnepanelen" in found.text
    assert files.document(png.path, tree[png.path], png.name) is None
