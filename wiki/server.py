"""`wiki serve`: gunicorn with several worker processes, each building its own app."""

from gunicorn.app.base import BaseApplication

from wiki import config


class _Server(BaseApplication):
    def __init__(self, settings: config.Settings, options: dict):
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        # Runs in each worker after the fork: engines, locks and caches are per process.
        from wiki.app import create_app

        return create_app(self.settings)


def run(settings: config.Settings, host: str, port: int, workers: int) -> None:
    _Server(settings, {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": 4,
        "timeout": 60,
        "graceful_timeout": 10,
        "accesslog": settings.access_log or None,
        "errorlog": "-",
        "preload_app": False,
        # gunicorn's control socket has one path per machine user: two wikis on one machine
        # would delete each other's. Kennis does not use it.
        "control_socket_disable": True,
    }).run()
