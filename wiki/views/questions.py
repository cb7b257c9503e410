"""Questions and answers in the browser: lists, ask, answer, vote, accept, moderate, and turn
into a page. Thin: each view reads the form, calls `services().questions`, renders or
redirects; permissions are decided in wiki/questions.py.
"""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from wiki.auth import current_account
from wiki.errors import InvalidInput, InvalidPath, PageExists, PageTooLarge, WikiError
from wiki.questions import QuestionLocked
from wiki.views import services

bp = Blueprint("questions", __name__)
PAGE_SIZE = 50


def _form(name: str) -> str:
    return request.form.get(name, "")


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        raise InvalidInput(_("That is not a number.")) from None


@bp.route("/questions", defaults={"prefix": ""})
@bp.route("/questions/<path:prefix>")
def index(prefix: str):
    """Open, answered, unanswered (> 1 week) or my questions, wiki-wide or in a namespace."""
    show = request.args.get("show", "")
    mine = show == "mine"
    status = "" if mine or show not in ("open", "answered", "unanswered") else show
    total, questions = services().questions.questions(current_account(), prefix, status,
                                                      mine=mine, limit=PAGE_SIZE)
    return render_template("questions.html", questions=questions, total=total,
                           prefix=prefix.strip("/"), show=show)


@bp.route("/ask", methods=["GET", "POST"])
def ask():
    account = current_account()
    values = {"namespace": request.values.get("namespace", ""), "title": _form("title"),
              "body": _form("body"), "tags": _form("tags")}
    error = None
    if request.method == "POST":
        try:
            view = services().questions.ask(account, values["namespace"], values["title"],
                                            values["body"], values["tags"])
        except (InvalidInput, PageTooLarge) as exc:
            error = exc
        else:
            return redirect(url_for(".question", question_id=view.id))
    elif account.is_anonymous:
        return redirect(url_for("account.login", next=request.full_path))
    return render_template("question_ask.html", error=error and error.message,
                           **values), error.status if error else 200


@bp.route("/question/<int:question_id>")
def question(question_id: int, error: WikiError | None = None, body: str = ""):
    view = services().questions.question(current_account(), question_id)
    return render_template("question.html", question=view, error=error and error.message,
                           body=body), error.status if error else 200


@bp.route("/question/<int:question_id>/answer", methods=["POST"])
def answer(question_id: int):
    try:
        view = services().questions.answer(current_account(), question_id, _form("body"))
    except (InvalidInput, PageTooLarge, QuestionLocked) as exc:
        return question(question_id, exc, _form("body"))
    return redirect(url_for(".question", question_id=question_id, _anchor=f"a{view.id}"))


@bp.route("/question/<int:question_id>/accept", methods=["POST"])
def accept(question_id: int):
    services().questions.accept(current_account(), question_id, _int(_form("answer")))
    return redirect(url_for(".question", question_id=question_id))


@bp.route("/question/<int:question_id>/lock", methods=["POST"])
def lock(question_id: int):
    services().questions.set_locked(current_account(), question_id, _form("locked") == "1")
    return redirect(url_for(".question", question_id=question_id))


@bp.route("/answer/<int:answer_id>/vote", methods=["POST"])
def vote(answer_id: int):
    wiki = services()
    wiki.questions.vote(current_account(), answer_id, _form("up") == "1")
    question_id = _int(_form("question"))
    return redirect(url_for(".question", question_id=question_id, _anchor=f"a{answer_id}")
                    if question_id else url_for(".index"))


@bp.route("/answer/<int:answer_id>/hide", methods=["POST"])
def hide(answer_id: int):
    reason = None if request.form.get("unhide") else _form("reason")
    services().questions.hide(current_account(), answer_id, reason)
    question_id = _int(_form("question"))
    return redirect(url_for(".question", question_id=question_id) if question_id
                    else url_for(".index"))


@bp.route("/question/<int:question_id>/page", methods=["GET", "POST"])
def to_page(question_id: int):
    """An editor turns a solved question into a page, prefilled from question and answer."""
    questions = services().questions
    account = current_account()
    name, text = questions.draft_page(account, question_id)
    error = None
    if request.method == "POST":
        name, text = _form("path"), _form("markdown")
        try:
            stored, _revision = questions.to_page(account, question_id, name, text)
        except (InvalidInput, InvalidPath, PageExists, PageTooLarge) as exc:
            error = exc
        else:
            flash(_("The page was created from the question."), "ok")
            return redirect(url_for("pages.view", name=stored))
    view = questions.question(account, question_id)
    return render_template("question_page.html", question=view, path=name, markdown=text,
                           error=error and error.message), error.status if error else 200
