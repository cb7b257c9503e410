"""Editing screens beyond the plain editor: the conflict screen and its per-change choices,
and the new-page form. The plain editor's save stays in views/pages.py (`pages.edit`)."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from wiki import conflicts, frontmatter, paths, sections
from wiki.auth import current_account
from wiki.errors import (
    EditConflict,
    InvalidInput,
    InvalidPath,
    InvalidRevision,
    PageTooLarge,
    Unauthorized,
)
from wiki.views import services

bp = Blueprint("editing", __name__)

MAX_PARTS = 2000  # a form naming more parts than this was not made by our conflict screen


@bp.app_template_global()
def page_fields(markdown: str) -> frontmatter.Fields:
    """The editor's fields (title, tags, language) and the rest of the front matter."""
    return frontmatter.fields(markdown)


def posted_text(form, account=None, name: str = "") -> str:
    """The page text an editor form posted: with the fields (the editor of edit.html), the
    front matter is rewritten in place from them; a bare `markdown` field is the whole text
    (the form without fields, and API-like clients). A section's text is put back into the
    page as it was at the base revision, so the save's 3-way merge keeps others' changes."""
    body = form.get("markdown", "")
    if form.get("section"):
        number = form.get("section", type=int)
        base = form.get("base") or None
        if number is None or base is None:
            raise InvalidInput(_("The form is incomplete; go back and try again."))
        whole = services().pages.source(account, name, revision=base).markdown
        return sections.replace(whole, number, body)
    if "fields" not in form:
        return body
    block = form.get("frontmatter", "").replace("\r\n", "\n")
    if block and not block.endswith("\n"):
        block += "\n"
    if block and not frontmatter.split(block + "x")[0]:
        # Edited into something that is no longer a block: keep it as text, nothing lost.
        return block + body
    return frontmatter.compose(block, body, form.get("title", ""), form.get("tags", ""),
                               form.get("lang", ""))


def conflict_page(name: str, conflict: EditConflict, message: str, base: str | None):
    """The conflict screen (409): each conflicting change side by side, rendered, with who
    made the other change and when."""
    account = current_account()
    wiki = services()
    parts = conflicts.parse(conflict.merged_with_markers)
    rendered = []  # sanitized HTML (render.py, nh3), shown with |safe like page.html
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


def section_of(markdown: str) -> tuple[int | None, str]:
    """(section number, its text) for `?section=N` on the editor, else (None, markdown)."""
    number = request.args.get("section", type=int)
    if number is None:
        return None, markdown
    return number, sections.section(markdown, number)


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


def _new_form(namespace: str, title: str = "", template: str = "", status: int = 200):
    account = current_account()
    new_pages = services().new_pages
    return render_template("new_page.html", namespace=namespace, title=title,
                           template=template, namespaces=new_pages.namespaces(account),
                           templates=new_pages.templates(account, namespace)), status


@bp.route("/new", methods=["GET", "POST"])
def new_page():
    """Ask for a title, a namespace and a template; open the editor on the new page."""
    account = current_account()
    if account.is_anonymous:
        raise Unauthorized()  # the login page, then back here
    services().permissions.require_read(account)
    if request.method == "GET":
        return _new_form(request.args.get("ns", "").strip("/"))
    form = request.form
    title, namespace = form.get("title", ""), form.get("namespace", "").strip().strip("/")
    template = form.get("template", "")
    try:
        draft = services().new_pages.start(account, title, namespace, template)
    except (InvalidInput, InvalidPath) as exc:  # a title or namespace that makes no name
        flash(exc.message, "error")
        return _new_form(namespace, title, template, exc.status)
    if draft.name != draft.wanted:
        flash(_("A page called %(taken)s already exists, so this one will be %(name)s. "
                "Nothing is overwritten.", taken=draft.wanted, name=draft.name), "ok")
    return render_template("edit.html", name=draft.name, markdown=draft.markdown, base="",
                           message="", create_only=True)
