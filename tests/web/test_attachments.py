"""A page's files through the web: upload, replace, delete, history, limits, names, permissions,
how files are served, thumbnails and links from the page's text."""

import io
import struct
import zlib

import pytest
from PIL import Image

from tests.conftest import csrf, post_form


def png(width=4, height=3, color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims huge dimensions: a decompression bomb's calling card."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def upload(client, page, name, data, headers=None, **form):
    form = {"file": (io.BytesIO(data), name), "csrf_token": csrf(client), **form}
    return client.post(f"/attachments/{page}", data=form, content_type="multipart/form-data",
                       headers=headers or {})


def git_log(app, path):
    services = app.extensions["kennis"]
    return services.repo.log(None, paths=[path])


@pytest.fixture
def page(make_page, auth):
    make_page("Team/Minutes", "# Minutes\n\n![chart](chart.png) and [the notes](notes.pdf)\n")
    auth.login("editor")
    return "Team/Minutes"


def test_upload_replace_delete_keep_history(app, client, page):
    response = upload(client, page, "chart.png", png())
    assert response.status_code == 302
    listing = client.get(f"/attachments/{page}")
    assert listing.status_code == 200 and b"chart.png" in listing.data
    assert client.get("/file/Team/Minutes/chart.png").data == png()

    upload(client, page, "chart.png", png(color=(0, 0, 255)))
    assert client.get("/file/Team/Minutes/chart.png").data == png(color=(0, 0, 255))
    commits = git_log(app, "Team/Minutes/chart.png")
    assert len(commits) == 2
    assert commits[0].author.name == "editor" and commits[0].author.email == "editor@kennis.invalid"
    old = commits[1].id
    assert client.get(f"/file/Team/Minutes/chart.png?rev={old}").data == png()

    response = post_form(client, f"/attachment-delete/{page}", {"file": "chart.png"})
    assert response.status_code == 302
    assert client.get("/file/Team/Minutes/chart.png").status_code == 404
    assert client.get(f"/file/Team/Minutes/chart.png?rev={old}").data == png()
    listing = client.get(f"/attachments/{page}").get_data(as_text=True)
    assert "Deleted files" in listing and "chart.png" in listing
    assert len(git_log(app, "Team/Minutes/chart.png")) == 3
    assert app.extensions["kennis"].repo.tree().get("Team/Minutes.md")  # the page is untouched


def test_listing_shows_size_type_uploader_and_versions(client, page):
    upload(client, page, "notes.txt", b"hello")
    upload(client, page, "notes.txt", b"hello again")
    text = client.get(f"/attachments/{page}").get_data(as_text=True)
    assert "notes.txt" in text and "11 Bytes" in text and "text/plain" in text
    assert "editor" in text and "2 versions" in text


def test_editor_uploads_never_replace(client, page):
    first = upload(client, page, "image.png", png(), mode="keep",
                   headers={"Accept": "application/json"})
    assert first.status_code == 201
    assert first.json["name"] == "image.png"
    second = client.post(f"/attachments/{page}", data={
        "file": (io.BytesIO(png(color=(1, 2, 3))), "image.png"), "mode": "keep",
        "csrf_token": csrf(client)}, headers={"Accept": "application/json"})
    assert second.status_code == 201
    assert second.json["name"] == "image-2.png"
    assert second.json["url"] == "/file/Team/Minutes/image-2.png"


def test_size_limit_gives_413(make_page, auth, tmp_path):
    from wiki.app import create_app

    app = create_app(home=tmp_path, max_attachment_bytes=1000)
    app.config["TESTING"] = True
    services = app.extensions["kennis"]
    services.users.create("ed", "correct-horse-battery", role="editor")
    services.pages.save(services.users.by_name("ed"), "P", "text\n")
    client = app.test_client()
    client.get("/login")
    client.post("/login", data={"name": "ed", "password": "correct-horse-battery",
                                "csrf_token": csrf(client)})
    assert upload(client, "P", "ok.bin", b"x" * 1000).status_code == 302
    small_over = upload(client, "P", "big.bin", b"x" * 1001)
    assert small_over.status_code == 413
    assert b"at most" in small_over.data
    huge = upload(client, "P", "huge.bin", b"x" * 200_000)  # over the form's own limit
    assert huge.status_code == 413 and b"at most" in huge.data
    json_over = client.post("/attachments/P", data={
        "file": (io.BytesIO(b"x" * 1001), "big.bin"), "csrf_token": csrf(client)},
        headers={"Accept": "application/json"})
    assert json_over.status_code == 413
    assert "at most" in json_over.json["error"]["message"]
    both = client.post("/attachments/P", data={  # one fits, one does not: neither is kept
        "file": [(io.BytesIO(b"small"), "first.txt"), (io.BytesIO(b"x" * 1001), "second.bin")],
        "csrf_token": csrf(client)})
    assert both.status_code == 413
    names = [f.name for f in services.attachments.listing(services.users.by_name("ed"),
                                                          "P").files]
    assert "first.txt" not in names and "ok.bin" in names
    services.db.dispose()


@pytest.mark.parametrize("sent, stored", [
    ("../../Home.md", "Home.md.txt"),
    ("..\\..\\evil.png", "evil.png"),
    (".htaccess", "htaccess"),
    ("my report (final).pdf", "my_report_(final).pdf"),
    ("a\u202egnp.exe", "a_gnp.exe"),
    ("Cafe\u0301.txt", "Café.txt"),
    ("x" * 300 + ".png", "x" * 116 + ".png"),
])
def test_names_are_normalised_and_stay_in_the_folder(app, client, page, sent, stored):
    response = upload(client, page, sent, b"data")
    assert response.status_code == 302
    tree = app.extensions["kennis"].repo.tree()
    assert f"Team/Minutes/{stored}" in tree
    assert tree["Home.md"] != app.extensions["kennis"].repo.tree()["Team/Minutes.md"]
    assert not [p for p in tree if not p.startswith(("Team/", "Help/", "Templates/", "Home"))]


@pytest.mark.parametrize("sent", ["..", "...", "/", "   ", "."])
def test_names_without_letters_are_refused(client, page, sent):
    assert upload(client, page, sent, b"data").status_code == 400


@pytest.mark.parametrize("url", [
    "/file/Team/../Home.md", "/file/Team/Minutes/../../Home.md", "/file/Home.md",
    "/file/Team/Minutes.md", "/file/..%2FHome.md", "/file/Team/Minutes/.git",
    "/file/Team/Minutes", "/thumb/Team/../Home.md",
])
def test_traversal_and_pages_are_not_files(client, page, url):
    assert client.get(url).status_code == 404


def test_permissions_are_the_pages(app, client, auth, make_page):
    services = app.extensions["kennis"]
    make_page("HR/Salaries", "secret\n", user="admin")
    services.acl.set_rule("HR", "user:admin", None, actor="test")
    auth.login("admin")
    assert upload(client, "HR/Salaries", "photo.png", png()).status_code == 302
    assert client.get("/file/HR/Salaries/photo.png").status_code == 200
    auth.logout()
    auth.login("editor")
    for url in ("/file/HR/Salaries/photo.png", "/thumb/HR/Salaries/photo.png",
                "/attachments/HR/Salaries", "/file/HR/Salaries/nothing.png"):
        assert client.get(url).status_code == 404, url
    assert upload(client, "HR/Salaries", "x.png", png()).status_code == 404
    response = post_form(client, "/attachment-delete/HR/Salaries", {"file": "photo.png"})
    assert response.status_code == 404
    auth.logout()
    assert client.get("/file/HR/Salaries/photo.png").status_code == 302  # log in first


def test_readers_cannot_upload_or_delete(client, auth, make_page):
    make_page("Open", "text\n")
    auth.login("reader")
    assert upload(client, "Open", "a.txt", b"a").status_code == 403
    assert post_form(client, "/attachment-delete/Open", {"file": "a.txt"}).status_code == 403


def test_real_png_is_inline_with_its_type(client, page):
    upload(client, page, "photo.jpg", png())  # the bytes decide, not the name
    response = client.get("/file/Team/Minutes/photo.jpg")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    again = client.get("/file/Team/Minutes/photo.jpg",
                       headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["ETag"] == response.headers["ETag"] and again.data == b""
    assert "Content-Type" not in again.headers  # the browser keeps image/png
    assert client.get("/file/Team/Minutes/photo.jpg",  # another version: the file itself
                      headers={"If-None-Match": '"someotherversion"'}).status_code == 200


def test_a_revalidated_file_is_not_read_again(app, client, page, monkeypatch):
    upload(client, page, "photo.png", png())
    etag = client.get("/file/Team/Minutes/photo.png").headers["ETag"]
    services = app.extensions["kennis"]

    def unread(*args):
        raise AssertionError("the file was read for a 304")

    monkeypatch.setattr(services.repo, "read_blob", unread)
    assert client.get("/file/Team/Minutes/photo.png",
                      headers={"If-None-Match": etag}).status_code == 304


def test_html_disguised_as_image_is_a_download(client, page):
    upload(client, page, "cat.png", b"<html><script>alert(document.cookie)</script></html>")
    response = client.get("/file/Team/Minutes/cat.png")
    assert response.mimetype == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert client.get("/thumb/Team/Minutes/cat.png").status_code == 404


def test_svg_with_script_is_never_inline(client, page):
    svg = (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
           b"<script>alert(2)</script></svg>")
    upload(client, page, "logo.svg", svg)
    response = client.get("/file/Team/Minutes/logo.svg")
    assert "svg" not in response.mimetype and "html" not in response.mimetype
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_download_names_follow_rfc_6266(client, page):
    upload(client, page, "Notulen café.pdf", b"%PDF-1.4")
    response = client.get("/file/Team/Minutes/Notulen_café.pdf")
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"Notulen_cafe.pdf\"; filename*=UTF-8''Notulen_caf%C3%A9.pdf")


def test_thumbnails(client, page):
    upload(client, page, "big.png", png(1200, 800))
    response = client.get("/thumb/Team/Minutes/big.png")
    assert response.status_code == 200
    thumb = Image.open(io.BytesIO(response.data))
    assert max(thumb.size) == 240
    assert client.get("/thumb/Team/Minutes/big.png").data == response.data  # from the cache


@pytest.mark.parametrize("width, height", [(30_000, 30_000), (8_000, 8_000)])
def test_decompression_bomb_gets_a_clear_refusal(client, page, width, height):
    upload(client, page, "bomb.png", png_declaring(width, height))
    response = client.get("/thumb/Team/Minutes/bomb.png")
    assert response.status_code == 422
    assert b"million pixels" in response.data
    served = client.get("/file/Team/Minutes/bomb.png")
    assert served.status_code == 200


def test_page_links_resolve_to_its_files(client, page):
    missing = client.get("/wiki/Team/Minutes").get_data(as_text=True)
    assert 'class="missing-file"' in missing
    assert "/file/Team/Minutes/chart.png" not in missing
    upload(client, page, "chart.png", png())
    upload(client, page, "notes.pdf", b"%PDF-1.4")
    client.get(f"/attachments/{page}")  # shows the "Uploaded" messages
    client.get("/wiki/Team/Minutes")
    text = client.get("/wiki/Team/Minutes").get_data(as_text=True)  # a shared, cached view
    assert 'src="/file/Team/Minutes/chart.png"' in text
    assert 'href="/file/Team/Minutes/notes.pdf"' in text
    assert "missing-file" not in text


def test_files_tab_on_every_page(client, page):
    assert b'href="/attachments/Team/Minutes"' in client.get("/wiki/Team/Minutes").data
    assert client.get("/attachments/No/Such/Page").status_code == 404


def test_renaming_a_page_takes_its_files_but_not_its_sub_pages(app, client, page, make_page):
    upload(client, page, "chart.png", png())
    make_page("Team/Minutes/2026", "a sub-page\n")
    response = post_form(client, f"/rename/{page}", {"to": "Team/Notes"})
    assert response.status_code == 302
    with client.get("/file/Team/Notes/chart.png") as moved:
        assert moved.status_code == 200 and moved.data == png()
    assert client.get("/file/Team/Minutes/chart.png").status_code == 404
    assert client.get("/wiki/Team/Minutes/2026").status_code == 200  # still where it was


def test_the_editor_preview_resolves_the_pages_files(client, page):
    upload(client, page, "chart.png", png())
    response = post_form(client, "/preview", {"markdown": "![c](chart.png)", "name": page})
    assert "/file/Team/Minutes/chart.png" in response.get_json()["html"]


def test_files_move_with_a_renamed_page_whatever_their_folder_is_spelled(app):
    services = app.extensions["kennis"]
    editor = services.users.by_name("editor")
    services.pages.save(editor, "foo/Bar", "A sub-page made the folder `foo` first.\n")
    services.pages.save(editor, "Foo", "![](x.png)\n")
    services.attachments.upload(editor, "Foo", "x.png", b"\x89PNG\r\n\x1a\n" + b"0" * 20)
    services.pages.rename(editor, "Foo", "Baz")
    assert [f.name for f in services.attachments.listing(editor, "Baz").files] == ["x.png"]
    assert "foo/x.png" not in services.repo.tree()
    assert "foo/Bar.md" in services.repo.tree()  # a sub-page stays where it is
