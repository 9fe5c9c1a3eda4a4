"""Receipts and certificates as PDFs, amounts in 大写, the couples' wall, a donor's own donations."""

from io import BytesIO

import pytest
from pypdf import PdfReader

from core.extensions import db as _db
from core.models import Role
from funds import donations as funds
from funds.models import Campaign, CampaignKind, DonationStatus
from funds.receipts import amount_in_words, certificate_pdf, receipt_pdf
from tests.factories import login, make_child, make_fund, make_user


@pytest.mark.parametrize(
    ("fen", "words"),
    [
        (0, "零元整"),
        (1, "壹分"),
        (10, "壹角整"),
        (11, "壹角壹分"),
        (100, "壹元整"),
        (105, "壹元零伍分"),
        (150, "壹元伍角整"),
        (1000, "壹拾元整"),
        (1500, "壹拾伍元整"),
        (10100, "壹佰零壹元整"),
        (101000, "壹仟零壹拾元整"),
        (100100, "壹仟零壹元整"),
        (100050, "壹仟元伍角整"),
        (2000000, "贰万元整"),
        (8020000, "捌万零贰佰元整"),
        (8200000, "捌万贰仟元整"),
        (10000005, "壹拾万元零伍分"),
        (100000100, "壹佰万零壹元整"),
        (1234567890, "壹仟贰佰叁拾肆万伍仟陆佰柒拾捌元玖角整"),
        (10000000000, "壹亿元整"),
        (10001000000, "壹亿零壹万元整"),
        (10000100000, "壹亿零壹仟元整"),
        (200000000000, "贰拾亿元整"),
    ],
)
def test_amount_in_words(fen, words):
    assert amount_in_words(fen) == words


@pytest.mark.parametrize("bad", [-1, 1.5, "100", True])
def test_amount_in_words_refuses_what_is_not_fen(bad):
    with pytest.raises(ValueError):
        amount_in_words(bad)


# --- helpers ------------------------------------------------------------------------------------------


def make_campaign(fund, slug="registry", kind=CampaignKind.COUPLE, title="婚姻登记处爱心点"):
    campaign = Campaign(slug=slug, title=title, kind=kind, fund_id=fund.id, presets=[52000], max_fen=10_000_000)
    _db.session.add(campaign)
    _db.session.commit()
    return campaign


def couple(name="王小明", partner="陈小红", **overrides):
    return funds.DonorInput(name=name, contact="13800001111", partner_name=partner, **overrides)


def give(admin, fund, amount=52000, campaign=None, donor=None):
    donation = funds.record_offline(
        admin, funds.Target(fund, campaign=campaign), amount, donor or couple(), "cash", "登记处现场"
    )
    _db.session.commit()
    return donation


def pdf_text(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(body)).pages)


@pytest.fixture
def admin():
    return make_user(Role.FUND_ADMIN)


@pytest.fixture
def fund():
    return make_fund()


# --- the PDFs -----------------------------------------------------------------------------------------


def test_receipt_is_a_pdf_with_number_amount_in_words_and_donors(admin, fund):
    campaign = make_campaign(fund)
    donation = give(admin, fund, 8200000, campaign)
    body = receipt_pdf(donation)
    assert body.startswith(b"%PDF")
    assert b"ReportLab" in body
    text = pdf_text(body)
    assert donation.receipt_no in text
    assert "捌万贰仟元整" in text
    assert "王小明" in text and "陈小红" in text
    assert "溪心护童专项基金" in text and "婚姻登记处爱心点" in text
    assert "捐赠收据" in text and "Donation receipt".upper() in text.upper()


def test_certificate_names_the_couple_and_never_a_child(admin, fund):
    child = make_child()
    campaign = make_campaign(fund)
    donation = give(admin, fund, 52000, campaign)
    body = certificate_pdf(donation)
    assert body.startswith(b"%PDF")
    text = pdf_text(body)
    assert "王小明" in text and "陈小红" in text
    assert "爱心证书" in text and "Certificate of Love" in text
    for private in (child.legal_name, child.alias, child.school, child.address, child.guardian_name, child.case_no):
        assert private not in text


def test_anonymous_couples_certificate_says_a_caring_donor(admin, fund):
    campaign = make_campaign(fund)
    donation = give(admin, fund, 52000, campaign, couple(anonymous=True))
    text = pdf_text(certificate_pdf(donation))
    assert "爱心人士" in text
    assert "王小明" not in text


def test_receipt_and_certificate_downloads(client, admin, fund):
    campaign = make_campaign(fund)
    donation = give(admin, fund, 52000, campaign)
    response = client.get(f"/donations/{donation.public_id}/receipt.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="receipt-{donation.receipt_no}.pdf"'
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.data.startswith(b"%PDF")
    response = client.get(f"/donations/{donation.public_id}/certificate.pdf")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="certificate-{donation.receipt_no}.pdf"'
    assert response.headers["Cache-Control"] == "private, no-store"


def test_partly_refunded_donation_keeps_its_receipt(client, admin, fund):
    donation = give(admin, fund, 10000)
    funds.refund(donation, 3000, admin, source_key="refund:test")
    _db.session.commit()
    response = client.get(f"/donations/{donation.public_id}/receipt.pdf")
    assert response.status_code == 200
    assert "¥30" in pdf_text(response.data)


def test_no_papers_for_money_that_did_not_arrive(client, admin, fund):
    pending = funds.create_donation(
        funds.Target(fund), 5000, funds.DonorInput(name="周先生", contact="13800001111"), "card"
    )
    failed = funds.create_donation(
        funds.Target(fund), 5000, funds.DonorInput(name="周先生", contact="13800001111"), "alipay"
    )
    funds.fail(failed, "test", "card declined")
    refunded = give(admin, fund, 5000, make_campaign(fund))
    funds.refund(refunded, 5000, admin, source_key="refund:all")
    _db.session.commit()
    for donation in (pending, failed, refunded):
        for paper in ("receipt", "certificate"):
            assert client.get(f"/donations/{donation.public_id}/{paper}.pdf").status_code == 404
    assert client.get("/donations/no-such-donation/receipt.pdf").status_code == 404
    assert client.get("/donations/no-such-donation/certificate.pdf").status_code == 404


def test_certificate_only_for_couples(client, admin, fund):
    single = give(admin, fund, 5000, donor=funds.DonorInput(name="周先生", contact="13800001111"))
    assert client.get(f"/donations/{single.public_id}/receipt.pdf").status_code == 200
    assert client.get(f"/donations/{single.public_id}/certificate.pdf").status_code == 404


# --- the wall ---------------------------------------------------------------------------------------


def _wall_setup(admin, fund):
    campaign = make_campaign(fund)
    give(admin, fund, 52000, campaign, couple("张伟", "李娜"))
    give(admin, fund, 100000, campaign, couple("刘洋", "赵敏", display_name="洋洋和敏敏"))
    give(admin, fund, 20000, campaign, couple("孙强", "周婷", anonymous=True))
    partly = give(admin, fund, 30000, campaign, couple("吴磊", "郑爽"))
    funds.refund(partly, 10000, admin, source_key="refund:partly")
    gone = give(admin, fund, 88800, campaign, couple("钱多", "冯多"))
    funds.refund(gone, 88800, admin, source_key="refund:gone")
    funds.create_donation(funds.Target(fund, campaign=campaign), 66600, couple("王未付", "陈未付"), "card")
    give(admin, fund, 99900, None, couple("别处", "他人"))  # another target
    _db.session.commit()
    return campaign


def test_wall_shows_running_total_couples_and_public_names(client, admin, fund):
    campaign = _wall_setup(admin, fund)
    response = client.get(f"/campaigns/{campaign.slug}/wall")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'http-equiv="refresh"' not in html  # the projector view updates live; this page reloads on demand
    assert f"/campaigns/{campaign.slug}/screen" in html and f'href="/campaigns/{campaign.slug}/wall"' in html
    assert f"/campaigns/{campaign.slug}/qr.svg" in html  # the registry screen invites the next couple
    assert "¥1,920" in html  # 520 + 1000 + 200 + (300 - 100)
    assert ">4<" in html
    assert "张* &amp; 李*" in html and "张伟" not in html
    assert "洋洋和敏敏" in html and "刘洋" not in html
    assert "爱心人士" in html and "孙强" not in html
    assert "吴* &amp; 郑*" in html and "吴磊" not in html
    for absent in ("钱多", "王未付", "别处"):
        assert absent not in html


def test_wall_api(client, admin, fund):
    campaign = _wall_setup(admin, fund)
    body = client.get(f"/api/v1/campaigns/{campaign.slug}/wall?per_page=3").get_json()
    assert body["total_fen"] == 192000
    assert body["couples"] == 4
    assert body["currency"] == "CNY"
    assert body["campaign"]["slug"] == campaign.slug
    assert [i["name"] for i in body["items"]] == ["吴* & 郑*", "爱心人士", "洋洋和敏敏"]
    assert body["next"].endswith("page=2&per_page=3") or "page=2" in body["next"]
    second = client.get(f"/api/v1/campaigns/{campaign.slug}/wall?per_page=3&page=2").get_json()
    assert [i["name"] for i in second["items"]] == ["张* & 李*"]
    assert second["next"] is None
    assert client.get("/api/v1/campaigns/nope/wall").status_code == 404
    assert client.get(f"/api/v1/campaigns/{campaign.slug}/wall?page=0").status_code == 422
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/campaigns/{slug}/wall" in spec["paths"]


def test_wall_only_for_couples_campaigns(client, fund):
    make_campaign(fund, slug="general", kind=CampaignKind.GENERAL)
    assert client.get("/campaigns/general/wall").status_code == 404
    assert client.get("/campaigns/nope/wall").status_code == 404
    empty = make_campaign(fund)
    response = client.get(f"/campaigns/{empty.slug}/wall")
    assert response.status_code == 200


# --- my donations -------------------------------------------------------------------------------------


def test_my_donations_lists_only_my_own(client, admin, fund):
    me = make_user()
    other = make_user()
    campaign = make_campaign(fund)
    mine = funds.create_donation(funds.Target(fund, campaign=campaign), 52000, couple(), "card", account=me)
    funds.succeed(mine, "test")
    pending = funds.create_donation(
        funds.Target(fund), 1200, funds.DonorInput(name="我", contact="13800001111"), "alipay", account=me
    )
    theirs = funds.create_donation(
        funds.Target(fund), 7700, funds.DonorInput(name="别人", contact="13800002222"), "card", account=other
    )
    funds.succeed(theirs, "test")
    _db.session.commit()

    assert client.get("/me/donations").status_code == 302
    login(client, me)
    html = client.get("/me/donations").get_data(as_text=True)
    assert mine.receipt_no in html
    assert f"/donations/{mine.public_id}/receipt.pdf" in html
    assert f"/donations/{mine.public_id}/certificate.pdf" in html
    assert "¥12" in html and f"/donations/{pending.public_id}/receipt.pdf" not in html
    assert theirs.receipt_no not in html and "¥77" not in html
    assert "/me/donations" in client.get("/me/claims").get_data(as_text=True)
    assert DonationStatus(mine.status) == DonationStatus.SUCCEEDED
