"""Children's private files, wishes, vetting, claims, fulfilment, and paying a wish in full."""


def init_app(app) -> None:
    from core import cache
    from core.i18n import label_of
    from funds.transparency import TRANSPARENCY_SECTIONS
    from payments.api import DONATION_TARGETS
    from payments.donate import THANKS_SECTIONS
    from wishes import api, cli, donate, payments, purchases, search, views  # noqa: F401 (search: its mapper events)
    from wishes.models import (
        CHILD_CATEGORY_LABELS,
        CLAIM_STATUS_LABELS,
        GENDER_LABELS,
        MODE_LABELS,
        WISH_CATEGORY_LABELS,
        WISH_STATUS_LABELS,
        Child,
        Claim,
        Wish,
    )

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(donate.bp)
    app.jinja_env.globals.update(
        wish_category_label=label_of(WISH_CATEGORY_LABELS),
        wish_status_label=label_of(WISH_STATUS_LABELS),
        claim_status_label=label_of(CLAIM_STATUS_LABELS),
        child_category_label=label_of(CHILD_CATEGORY_LABELS),
        gender_label=label_of(GENDER_LABELS),
        mode_label=label_of(MODE_LABELS),
    )
    # The public lists show wishes, their children and claims: a change to any is a change of the lists.
    cache.watch(Wish, Child, Claim)
    app.extensions[THANKS_SECTIONS].append(donate.thanks_section)
    app.extensions[DONATION_TARGETS]["wish"] = payments.pay_for_wish_by_id
    payments.connect_payment_signals()
    purchases.connect_fund_signals()
    app.extensions[TRANSPARENCY_SECTIONS].append(purchases.transparency_section)
    cli.register(app)
