"""The scheduler and its declared jobs, which sit above the features they call."""


def init_app(app) -> None:
    from reminders import cli

    cli.register(app)
