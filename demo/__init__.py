"""Demo data drawn from the field reports, seeded through the services; it sits above every feature."""


def init_app(app) -> None:
    from demo import cli

    cli.register(app)
