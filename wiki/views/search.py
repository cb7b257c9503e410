"""The search page and the OpenSearch description (browsers offer the wiki as a search engine).

The search form is a GET form like every search engine's (bookmarkable, no state changes), so
it carries no CSRF token: one in a URL would leak into history and logs.
"""

from xml.sax.saxutils import escape, quoteattr

from flask import Blueprint, Response, render_template, request, url_for

from wiki.auth import current_account
from wiki.search import KINDS, Filters, Hit
from wiki.views import services

bp = Blueprint("search", __name__)
PER_PAGE = 20
MAX_PAGE = 500



def hit_url(hit: Hit, external: bool = False) -> str:
    """Where a result leads: the page, the discussion thread or the attached file."""
    if hit.kind == "discussion" and hit.thread_id is not None:
        return url_for("discussions.thread", thread_id=hit.thread_id, _external=external)
    if hit.kind == "question" and hit.question_id is not None:  # issue 18
        return url_for("questions.question", question_id=hit.question_id, _external=external)
    if hit.kind == "attachment" and hit.file_path:
        return url_for("attachments.file", path=hit.file_path, _external=external)
    return url_for("pages.view", name=hit.path, _external=external)


@bp.route("/search")
def search():
    args = request.args
    filters = Filters(tag=args.get("tag", "")[:100], prefix=args.get("prefix", "")[:255],
                      author=args.get("author", "")[:100], since=args.get("since", "")[:10],
                      kind=args.get("kind", "") if args.get("kind") in KINDS else "")
    page = min(max(args.get("page", 1, type=int), 1), MAX_PAGE)
    sort = "date" if args.get("sort") == "date" else "relevance"
    query = args.get("q", "")[:500]
    found = services().search.search(current_account(), query, filters,
                                      offset=(page - 1) * PER_PAGE, limit=PER_PAGE, sort=sort)
    current = {"q": query, "tag": filters.tag, "prefix": filters.prefix,
               "author": filters.author, "since": filters.since, "kind": filters.kind,
               "sort": sort, "page": page}

    def link(**changes) -> str:
        """This search with some parameters changed (back to page 1 unless one is given)."""
        merged = {**current, "page": 1, **changes}
        return url_for("search.search", **{k: v for k, v in merged.items()
                                            if v and (k, v) not in (("page", 1),
                                                                    ("sort", "relevance"))})

    return render_template("search.html", found=found, query=query, filters=filters,
                           page=page, sort=sort, pages=-(-found.total // PER_PAGE), link=link,
                           hit_url=hit_url)


@bp.route("/opensearch.xml")
def opensearch():
    settings = services().settings
    base = (settings.base_url or request.url_root).rstrip("/")
    name = settings.site_name
    html_url = base + url_for("search.search") + "?q={searchTerms}"
    suggest_url = base + url_for("api_search.suggest") + "?q={searchTerms}"
    json_url = base + url_for("api_search.search") + "?q={searchTerms}"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<OpenSearchDescription xmlns="http://a9.com/-/spec/opensearch/1.1/">\n'
        f"  <ShortName>{escape(name[:16])}</ShortName>\n"
        f"  <Description>{escape(name)}</Description>\n"
        "  <InputEncoding>UTF-8</InputEncoding>\n"
        f'  <Image type="image/svg+xml">'
        f"{escape(base + url_for('static', filename='favicon.svg'))}</Image>\n"
        f'  <Url type="text/html" method="get" template={quoteattr(html_url)}/>\n'
        f'  <Url type="application/x-suggestions+json" template={quoteattr(suggest_url)}/>\n'
        f'  <Url type="application/json" template={quoteattr(json_url)}/>\n'
        "</OpenSearchDescription>\n")
    return Response(body, mimetype="application/opensearchdescription+xml")
