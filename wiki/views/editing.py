"""Editing screens beyond the plain editor: the conflict screen and its per-change choices,
and the new-page form. The plain editor's save stays in views/pages.py (`pages.edit`)."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from wiki import conflicts, paths
from wiki.auth import current_account
from wiki.errors import EditConflict, InvalidInput, InvalidRevision, PageTooLarge
from wiki.views import services

bp = Blueprint("editing", __name__)

MAX_PARTS = 2000  # a form naming more parts than this was not made by our conflict screen


def conflict_page(name: str, conflict: EditConflict, message: str, base: str | None):
    """The conflict screen (409): each conflicting change side by side, rendered, with who
    made the other change and when."""
    account = current_account()
    wiki = services()
    parts = conflicts.parse(conflict.merged_with_markers)
    rendered = []
    for part in parts:
        if part.conflict:
            rendered.append((wiki.pages.preview(account, part.mine or "\n", name).html,
                             wiki.pages.preview(account, part.theirs or "\n", name).html))
        else:
            rendered.append(None)
    others = []
    for row in wiki.pages.history(account, name, limit=20):
        if base and row.revision.startswith(base):
            break
        others.append(row)
    return render_template("conflict.html", name=name, parts=parts, rendered=rendered,
                           others=others, head=conflict.head_revision, message=message,
                           choices=conflicts.CHOICES), 409


def _form_parts() -> tuple[list[conflicts.Part], list[str]]:
    """The parts and choices as the conflict form posted them, or InvalidInput."""
    form = request.form
    count = form.get("parts", type=int)
    if count is None or not 0 <= count <= MAX_PARTS:
        raise InvalidInput(_("The form is incomplete; go back and try again."))
    parts, texts = [], []
    for i in range(count):
        if f"theirs-{i}" in form:
            part = conflicts.Part(form.get(f"mine-{i}", ""), form.get(f"theirs-{i}", ""))
            choice = form.get(f"choice-{i}", "")
            if choice not in conflicts.CHOICES:
                raise InvalidInput(_("Choose what to keep for every change."))
            texts.append(conflicts.resolve(part, choice, form.get(f"edit-{i}", "")))
        else:
            part = conflicts.Part(form.get(f"text-{i}", ""))
            texts.append(part.mine)
        parts.append(part)
    return parts, texts


@bp.route("/resolve/<path:name>", methods=["POST"])
def resolve(name: str):
    """Save the text the conflict screen's choices make, through the same 3-way merge."""
    account = current_account()
    name = paths.normalize(name)
    services().permissions.require_write(account, name)
    _, texts = _form_parts()
    text = "".join(texts).replace("\r\n", "\n")
    base = request.form.get("base") or None
    message = request.form.get("message", "")
    try:
        result = services().pages.save(account, name, text, message, base)
    except EditConflict as conflict:  # someone saved again meanwhile, overlapping again
        return conflict_page(name, conflict, message, base)
    except (InvalidInput, InvalidRevision, PageTooLarge) as exc:
        # Markers typed into an "edit" box, say: the whole text goes to the editor, kept.
        flash(exc.message, "error")
        return render_template("edit.html", name=name, markdown=text, base=base or "",
                               message=message), exc.status
    if result.merged:
        flash(_("Someone else changed this page while you were editing; "
                "both changes were merged."), "ok")
    return redirect(url_for("pages.view", name=result.name))
