"""A donor's full name is never public by default, and a phone number is a real mobile number."""

import pytest

from core.text import masked_name
from tests.factories import make_wish


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("李明", "李*"),
        ("李小明", "李**"),
        ("欧阳娜娜", "欧阳**"),
        ("欧阳", "欧*"),
        ("Zhang Wei", "Z***"),
        (" 王\u200b五 ", "王*"),
    ],
)
def test_a_name_is_masked_to_its_surname(name, masked):
    assert masked_name(name) == masked


def _claim(client, **body):
    return client.post(f"/api/v1/wishes/{make_wish().public_id}/claim", json={"contact": "13300000000", **body})


def test_a_claim_with_no_public_name_shows_the_surname_only(client, db):
    response = _claim(client, name="李小明")
    assert response.status_code == 201
    assert response.get_json()["claim"]["public_name"] == "李**"


def test_a_chosen_public_name_or_anonymity_is_shown_as_chosen(client, db):
    chosen = _claim(client, name="李小明", display_name="青岛某公司").get_json()["claim"]["public_name"]
    anonymous = _claim(client, name="李小明", contact="13300000001", anonymous=True).get_json()["claim"]["public_name"]
    assert chosen == "青岛某公司"
    assert anonymous == "爱心人士"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("139 1234 5678", "13912345678"),
        ("+86 139-1234-5678", "13912345678"),
        ("１３９１２３４５６７８", "13912345678"),
        ("+852 9123 4567", "+852 91234567"),
        ("+853 6612 3456", "+853 66123456"),
        ("+886 0912 345 678", "+886 912345678"),
    ],
)
def test_mobile_numbers_are_taken_in_every_common_form(client, db, typed, stored):
    from sqlalchemy import select

    from wishes.models import Claim

    assert _claim(client, name="甲", contact=typed).status_code == 201
    db.session.rollback()
    assert db.session.scalar(select(Claim.contact)) == stored


@pytest.mark.parametrize(
    "typed", ["123456789", "12345678901", "1391234567", "+1 415 555 0100", "91234567", "139-abcd-5678"]
)
def test_anything_but_a_real_mobile_number_is_refused_with_a_clear_message(client, db, typed):
    response = _claim(client, name="甲", contact=typed)
    assert response.status_code == 422
    assert "11" in response.get_json()["error"]["fields"]["contact"]
