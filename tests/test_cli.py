"""The commands DESIGN.md §5 names, and the factory."""

from app import create_app
from core.models import User
from wishes.models import Wish, WishStatus


def test_create_user_with_roles(runner, db):
    result = runner.invoke(
        args=["create-user", "boss@example.org", "--role", "admin", "--role", "host", "--password", "pw-long-enough"]
    )
    assert result.exit_code == 0, result.output
    user = db.session.query(User).filter_by(email="boss@example.org").one()
    assert user.roles == {"admin", "host"} and user.check_password("pw-long-enough")
    again = runner.invoke(args=["create-user", "boss@example.org", "--role", "admin", "--password", "pw-long-enough"])
    assert again.exit_code == 1 and again.output.startswith("email:")
    bad = runner.invoke(args=["create-user", "x@example.org", "--role", "king", "--password", "pw-long-enough"])
    assert bad.exit_code == 1


def test_seed_demo_fills_an_empty_database_once(runner, db):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "supervisor@demo.weixinyuan.org" in result.output
    published = db.session.query(Wish).filter_by(status=WishStatus.PUBLISHED).count()
    assert db.session.query(Wish).count() >= 40 and published >= 20
    districts = {w.district for w in db.session.query(Wish)}
    assert len(districts) >= 4
    from funds.models import Campaign, Donation

    assert db.session.query(Campaign).filter_by(kind="couple").count() == 1
    assert db.session.query(Donation).filter(Donation.receipt_no.is_not(None)).count() >= 10
    check = runner.invoke(args=["ledger", "check"])
    assert check.exit_code == 0, check.output
    seeded = db.session.query(Wish).count()
    second = runner.invoke(args=["seed-demo"])
    assert "nothing seeded" in second.output
    assert db.session.query(Wish).count() == seeded


def test_expire_claims_command(runner, db):
    assert runner.invoke(args=["expire-claims"]).output.strip() == "expired 0 claims"


def test_factory_takes_overrides(database_url, tmp_path):
    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "CLAIM_HOLD_DAYS": 3, "UPLOAD_FOLDER": str(tmp_path)}
    )
    assert app.config["CLAIM_HOLD_DAYS"] == 3
    assert app.config["BABEL_DEFAULT_LOCALE"] == "zh_CN"
