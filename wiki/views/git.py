"""`/wiki.git/…`: clone, fetch, pull and push with the ordinary git client (wiki/gitserve.py)."""

from flask import Blueprint, Response, request

from wiki import gitserve, ratelimit
from wiki.errors import Unauthorized, WikiError
from wiki.views import services

bp = Blueprint("git", __name__)
REPOSITORY = "/wiki.git"



@bp.route(f"{REPOSITORY}/info/refs")
@ratelimit.git_auth
def refs():
    service = request.args.get("service", "")
    if service not in gitserve.SERVICES:
        raise gitserve.NotSmartHttp()  # the dumb protocol would read files one by one
    return _serve(service, advertise=True)


@bp.route(f"{REPOSITORY}/<service>", methods=["POST"])
@ratelimit.git_auth
def rpc(service: str):
    return _serve(service, advertise=False)


@bp.route(REPOSITORY, defaults={"rest": ""}, methods=["GET", "POST"])
@bp.route(f"{REPOSITORY}/<path:rest>", methods=["GET", "POST", "PUT", "DELETE", "PROPFIND"])
def anything_else(rest: str):
    raise gitserve.NotSmartHttp()


def _serve(service: str, advertise: bool) -> Response:
    wiki = services()
    account = gitserve.authenticate(wiki.users, request.headers.get("Authorization"))
    if not account.is_anonymous:
        ratelimit.remember_address(account.name)
    gitserve.require_access(wiki.permissions, account, service)
    git_request = gitserve.GitRequest.build(
        service, advertise, remote_addr=request.remote_addr,
        content_type=request.headers.get("Content-Type"),
        content_length=request.content_length,
        content_encoding=request.headers.get("Content-Encoding"),
        git_protocol=request.headers.get("Git-Protocol"))
    body = None
    if not advertise:
        request.max_content_length = wiki.settings.max_push_bytes
        body = request.stream
    after = None
    if service == gitserve.RECEIVE and not advertise:
        after = gitserve.after_push(wiki.repo, wiki.catalog, wiki.acl.record, account,
                                    wiki.settings.author_host)
    answer = gitserve.run_backend(wiki.settings, wiki.repo, git_request, account, body,
                                  after, permissions=wiki.permissions)
    response = Response(answer.body, status=answer.status, headers=answer.headers,
                        direct_passthrough=True)
    response.headers.setdefault("Cache-Control", "no-cache")
    return response


@bp.errorhandler(WikiError)
def git_error(exc: WikiError):
    # Plain text: the git client prints it as `remote: …`.
    response = Response(exc.message + "\n", status=exc.status, mimetype="text/plain")
    if isinstance(exc, Unauthorized):
        response.headers["WWW-Authenticate"] = f'Basic realm="{gitserve.REALM}"'
    return response


def clone_url() -> str:
    base = services().settings.base_url or request.host_url
    return base.rstrip("/") + REPOSITORY


def init_app(app) -> None:
    app.extensions["csrf"].exempt(bp)  # no cookies are accepted here, so no CSRF either
    app.register_blueprint(bp)
    app.add_template_global(clone_url)
