"""An administrator finds accounts, sends a reset link; a deactivated account is told why it cannot sign in."""

from sqlalchemy import select

from core import services
from core.models import AuditLog, Role
from core.outbox import Notification
from tests.factories import PASSWORD, login, make_user
from tests.helpers import client_for, fast_passwords  # noqa: F401 (an autouse fixture)


def test_a_deactivated_account_is_told_so_only_with_the_right_password(app, db):
    user = make_user(Role.CASEWORKER, email="gone@example.org")
    services.set_active(make_user(Role.ADMIN), user, False)
    db.session.commit()
    client = client_for(app)

    right = client.post("/login", data={"email": "gone@example.org", "password": PASSWORD})
    wrong = client.post("/login", data={"email": "gone@example.org", "password": "not-the-password"})

    assert right.status_code == 422 and "已停用" in right.get_data(as_text=True)
    assert wrong.status_code == 422 and "已停用" not in wrong.get_data(as_text=True)
    assert client.get("/staff/").status_code in (302, 401)


def test_admins_find_accounts_by_part_of_a_name_or_address(app, db):
    admin = make_user(Role.ADMIN)
    make_user(Role.CASEWORKER, email="wang.laoshi@example.org", name="王老师")
    make_user(Role.DONOR, email="li@example.org", name="李女士")
    client = client_for(app)
    login(client, admin)

    by_name = client.get("/admin/users?q=王").get_data(as_text=True)
    by_mail = client.get("/admin/users?q=LI@").get_data(as_text=True)
    wildcard = client.get("/admin/users?q=%25").get_data(as_text=True)

    assert "wang.laoshi@example.org" in by_name and "li@example.org" not in by_name
    assert "li@example.org" in by_mail and "wang.laoshi" not in by_mail
    assert "wang.laoshi@example.org" not in wildcard and "li@example.org" not in wildcard


def test_an_admin_sends_a_reset_link_and_only_an_admin_can(app, db):
    admin = make_user(Role.ADMIN)
    user = make_user(Role.CASEWORKER, email="forgot@example.org")
    client = client_for(app)
    login(client, admin)

    response = client.post(f"/admin/users/{user.id}/password-reset")

    assert response.status_code == 302
    mail = db.session.scalar(select(Notification).where(Notification.recipient == "forgot@example.org"))
    assert mail is not None and "/password/reset/" in mail.body
    assert db.session.scalar(select(AuditLog.action).where(AuditLog.action == "user.password_reset_sent"))
    supervisor = client_for(app)
    login(supervisor, make_user(Role.SUPERVISOR))
    assert supervisor.post(f"/admin/users/{user.id}/password-reset").status_code == 403
