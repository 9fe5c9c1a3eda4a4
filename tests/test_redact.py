"""Mail written to the log, and any text masked for a log, keeps no token, address or phone number."""

from sqlalchemy import select

from core.outbox import Notification, deliver_pending
from core.redact import mask_email, mask_text
from tests.factories import make_wish
from wishes import services
from wishes.models import WishStatus


def test_mask_text_hides_tokens_addresses_and_phones():
    text = (
        "Manage it at https://example.org/claims/manage/AbC-12_xyZ?x=1 — write to wang.li@example.org "
        "or call 138 0013 8000, +86-13900139000 or １３９００１３９０００."
    )
    masked = mask_text(text)
    for secret in ("AbC-12_xyZ", "wang.li@", "0013 8000", "13900139000", "１３９００１３９０００"):
        assert secret not in masked
    assert "/claims/manage/…" in masked and "w***@example.org" in masked and "138****8000" in masked
    assert mask_text("order 2026-000123, 42 yuan") == "order 2026-000123, 42 yuan"
    assert mask_email("wang@example.org") == "w***@example.org" and mask_email("nonsense") == "***"


def test_mail_written_to_the_log_masks_the_manage_link_and_the_address(app, db, caplog):
    wish = make_wish(WishStatus.PUBLISHED, modes="gift")
    _claim, token = services.claim_wish(
        wish, services.ClaimInput(name="王女士", contact="wang.secret@example.org", display_name="王阿姨")
    )
    db.session.commit()
    assert db.session.scalar(select(Notification.id)) is not None
    app.config["MAIL_SERVER"] = ""
    caplog.set_level("INFO")
    assert deliver_pending() == 1
    logged = " ".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert "mail" in logged
    assert token not in logged and "wang.secret@" not in logged
    assert "w***@example.org" in logged and "/claims/manage/…" in logged


def test_a_password_reset_link_is_masked_in_text_and_in_paths():
    from core.redact import mask_path

    token = "eyJ1IjoxLCJmIjoiYWJjIn0.Z1x2Yw.sIgNaTuRe-_x"
    masked = mask_text(f"Choose a new password at https://example.org/password/reset/{token} within 60 minutes.")
    assert token not in masked and "/password/reset/…" in masked
    assert mask_path(f"/password/reset/{token}") == "/password/reset/…"
    assert mask_path("/password/forgot") == "/password/forgot"


def test_reminder_volunteer_and_preference_links_are_masked_in_text():
    from core.redact import mask_text

    text = (
        "http://x/reminder/eyJjIjoxfQ.abc-_ then http://x/volunteer/AbC.d-e and http://x/mail/preferences/tok.en-1 ok"
    )
    masked = mask_text(text)
    assert "eyJjIjoxfQ" not in masked and "AbC.d-e" not in masked and "tok.en-1" not in masked
    assert "/reminder/…" in masked and "/volunteer/…" in masked and "/mail/preferences/…" in masked
