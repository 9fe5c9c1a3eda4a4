"""The platform administrator manages accounts and roles."""

from core import audit
from core.models import Role, User
from tests.factories import login, make_user


def test_admin_creates_account_and_changes_roles(client, db):
    admin = make_user(Role.ADMIN)
    login(client, admin)
    response = client.post(
        "/admin/users",
        data={"display_name": "陈磊", "email": "chen@example.org", "password": "long-enough", "roles": ["caseworker"]},
    )
    assert response.status_code == 302
    user = db.session.query(User).filter_by(email="chen@example.org").one()
    assert user.roles == {"caseworker"}
    client.post(f"/admin/users/{user.id}", data={"roles": ["caseworker", "supervisor"], "active": "y"})
    db.session.refresh(user)
    assert user.roles == {"caseworker", "supervisor"}
    assert audit.history(user)[-1].after == {"roles": ["caseworker", "supervisor"]}
    client.post(f"/admin/users/{user.id}", data={"roles": ["caseworker"]})
    db.session.refresh(user)
    assert not user.active
    assert client.post("/logout").status_code == 302
    bad = client.post("/login", data={"email": "chen@example.org", "password": "long-enough"})
    assert bad.status_code == 422


def test_admin_cannot_lock_themselves_out(client, db):
    admin = make_user(Role.ADMIN)
    login(client, admin)
    response = client.post(f"/admin/users/{admin.id}", data={"roles": ["host"], "active": "y"})
    assert response.status_code == 422
    db.session.refresh(admin)
    assert admin.roles == {"admin"}


def test_only_admins_manage_users(client, db):
    login(client, make_user(Role.SUPERVISOR))
    assert client.get("/admin/users").status_code == 403
    assert client.post("/admin/users", data={"email": "x@example.org"}).status_code == 403
