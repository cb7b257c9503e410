"""What every template may use: the account, permissions, the site name, dates."""

from datetime import UTC, datetime

from flask_babel import format_date, format_datetime, get_locale

from wiki import __version__
from wiki.auth import current_account
from wiki.views.pagecache import account_box


def init_app(app) -> None:
    services = app.extensions["kennis"]

    @app.template_global()
    def account():
        return current_account()

    app.add_template_global(account_box)

    @app.template_global()
    def may_write(name: str) -> bool:
        return services.permissions.can_write(current_account(), name)

    @app.template_global()
    def site_name() -> str:
        return services.settings.site_name

    @app.template_global()
    def kennis_version() -> str:
        return __version__

    @app.template_global()
    def current_locale() -> str:
        return str(get_locale() or "en")

    @app.template_global()
    def now() -> datetime:
        return datetime.now(UTC)

    @app.template_filter("datetime")
    def _datetime(value: datetime | None) -> str:
        return format_datetime(value, "medium") if value else ""

    @app.template_filter("date")
    def _date(value: datetime | None) -> str:
        return format_date(value, "medium") if value else ""

