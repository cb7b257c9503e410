"""A page's files: the Attachments tab (list, upload, delete) and serving files and thumbnails.

Files are served from their repository path, `/file/Team/Minutes/photo.png` (the page is
everything before the last slash: a file name never holds one). Only raster images that Pillow
recognises by their bytes are sent inline; everything else is a download. Every file response
carries `nosniff` and a sandboxing Content-Security-Policy, so even a file a browser would take
for HTML cannot run script on this site.
"""

import re
import unicodedata
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from wiki.attachments import AttachmentTooLarge, file_url, too_large_message
from wiki.auth import current_account
from wiki.errors import InvalidInput, WikiError
from wiki.views import services

bp = Blueprint("attachments", __name__)

FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
FORM_OVERHEAD = 64 * 1024  # multipart boundaries, the CSRF token and the summary


def _service():
    return services().attachments


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.route("/attachments/<path:name>")
def listing(name: str):
    listing = _service().listing(current_account(), name)
    return render_template("attachments.html", name=listing.page, listing=listing,
                           max_bytes=services().settings
                           .max_attachment_bytes)


@bp.route("/attachments/<path:name>", methods=["POST"])
def upload(name: str):
    files = [f for f in request.files.getlist("file") if f.filename]
    try:
        if not files:
            raise InvalidInput(_("Choose a file to upload."))
        datas = [(f.filename, _read(f)) for f in files]  # a file too large refuses them all
        results = [_service().upload(current_account(), name, filename, data,
                                     replace=request.form.get("mode") != "keep",
                                     message=request.form.get("message", ""))
                   for filename, data in datas]
    except WikiError as exc:
        if not _wants_json():
            raise
        return jsonify({"error": {"code": exc.code, "message": exc.message}}), exc.status
    if _wants_json():
        last = results[-1]
        return jsonify({"name": last.name, "url": file_url(last.path),
                        "revision": last.revision}), 201
    flash(_("Uploaded: %(names)s", names=", ".join(r.name for r in results)), "ok")
    return redirect(url_for("attachments.listing", name=results[0].page))


def _read(upload: FileStorage) -> bytes:
    limit = services().settings.max_attachment_bytes
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise AttachmentTooLarge(too_large_message(None, limit))
    return data


@bp.route("/attachment-delete/<path:name>", methods=["POST"])
def delete(name: str):
    filename = request.form.get("file", "")
    _service().delete(current_account(), name, filename, request.form.get("message", ""))
    flash(_("The file was deleted; its versions stay in the history."), "ok")
    return redirect(url_for("attachments.listing", name=name))


@bp.route("/file/<path:path>")
def file(path: str):
    served = _service().open(current_account(), path, request.args.get("rev") or None,
                             unless=request.if_none_match)
    if served.unchanged:  # revalidation of an image on every page view: not read again
        response = Response(status=304)
        # No Content-Type: the browser keeps the one it has (a default text/html here made
        # Chromium show a cached image as a page).
        del response.headers["Content-Type"]
        response.headers["Content-Security-Policy"] = FILE_CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "private, no-cache"
        response.set_etag(served.blob)
        return response
    return _send(served.data, served.mimetype, served.blob, served.name, served.inline)


@bp.route("/thumb/<path:path>")
def thumbnail(path: str):
    data, mimetype, blob = _service().thumbnail(current_account(), path)
    return _send(data, mimetype, "thumb-" + blob, path.rpartition("/")[2], inline=True)


def _send(data: bytes, mimetype: str, etag: str, name: str, inline: bool) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = _disposition(
        "inline" if inline else "attachment", name)
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Who may read it can change at any time: the browser asks again, the ETag keeps it cheap.
    response.headers["Cache-Control"] = "private, no-cache"
    response.set_etag(etag)
    return response.make_conditional(request)


def _disposition(kind: str, name: str) -> str:
    """RFC 6266: an ASCII `filename` for old clients and the real one as `filename*`."""
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = re.sub(r"[^A-Za-z0-9._()+-]", "_", fallback) or "file"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def init_app(app) -> None:
    app.register_blueprint(bp)
    limit = app.extensions["kennis"].settings.max_attachment_bytes

    def allow_uploads() -> None:
        """Uploads may be larger than any other request. This runs before the CSRF check
        reads the form, so an upload over the limit gets its own clear 413."""
        if request.endpoint != "attachments.upload":
            return
        if request.content_length and request.content_length > limit + FORM_OVERHEAD:
            raise AttachmentTooLarge(too_large_message(None, limit))
        request.max_content_length = limit + FORM_OVERHEAD

    app.before_request_funcs.setdefault(None, []).insert(0, allow_uploads)
