"""Bulk import of projects from a bureau's sheet: every row checked first, nothing written when any is bad."""

import csv
import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from core.errors import ValidationError
from core.models import AuditLog, Role
from funds import imports, services
from funds.models import Project
from tests.factories import login, make_fund, make_user
from tests.helpers import client_for, fast_passwords, snapshot  # noqa: F401 (an autouse fixture)

HEADER = ["slug", "title", "fund", "goal_yuan", "beneficiaries", "district", "summary"]


def _rows(n=40):
    return [
        [f"project-{i:02d}", f"社区项目{i}", "xixin-hutong", str(1000 + i), str(50 + i), "梁溪区", f"第{i}个项目"]
        for i in range(1, n + 1)
    ]


def _csv(rows, header=HEADER, encoding="utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def _xlsx(rows, header=HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        # A spreadsheet keeps numbers as numbers.
        sheet.append([int(v) if v.isdigit() else v for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def staff(app, db):
    make_fund()
    client = client_for(app)
    admin = make_user(Role.FUND_ADMIN)
    login(client, admin)
    return client, admin


def _upload(client, data: bytes, name: str):
    return client.post("/staff/projects/import?lang=en", data={"sheet": (io.BytesIO(data), name)})


def _count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Project))


@pytest.mark.parametrize("kind", ["csv", "csv-bom", "xlsx"])
def test_forty_good_rows_are_imported(staff, db, kind):
    client, _admin = staff
    rows = _rows()
    data = {"csv": _csv(rows), "csv-bom": _csv(rows, encoding="utf-8-sig"), "xlsx": _xlsx(rows)}[kind]
    response = _upload(client, data, "bureau." + kind.split("-")[0])
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    assert _count(db) == 40
    project = db.session.scalar(select(Project).where(Project.slug == "project-07"))
    assert project.title == "社区项目7" and project.goal_fen == 100_700 and project.beneficiaries == 57
    assert project.district == "梁溪区" and project.fund.slug == "xixin-hutong"
    assert (
        db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "project.imported")) == 40
    )
    assert "40" in client.get("/staff/projects?lang=en").get_data(as_text=True)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
@pytest.mark.parametrize(
    "index, bad, message",
    [
        (16, {"goal_yuan": "0"}, "Goal (yuan): "),
        (16, {"goal_yuan": "abc"}, "Goal (yuan): "),
        (16, {"fund": "no-such-fund"}, "Fund (short name): "),
        (16, {"slug": "Not A Slug"}, "Short name for the address: "),
        (16, {"slug": "project-03"}, "already taken"),
        (16, {"title": ""}, "Project title: "),
        (16, {"beneficiaries": "lots"}, "Beneficiaries (person-times): "),
    ],
)
def test_one_bad_row_among_forty_writes_nothing_and_names_the_row(staff, db, kind, index, bad, message):
    client, _admin = staff
    rows = _rows()
    for key, value in bad.items():
        rows[index][HEADER.index(key)] = value
    data = _csv(rows) if kind == "csv" else _xlsx(rows)
    before = snapshot()
    response = _upload(client, data, f"bureau.{kind}")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Nothing was imported" in page
    # The header is row 1, so the 17th project is on row 18 of the sheet.
    assert "<td>18</td>" in page and message in page
    assert page.count("<tr><td>") == 1
    assert snapshot() == before


def test_slug_already_in_the_database_is_reported(staff, db):
    client, admin = staff
    services.create_project(admin, services.ProjectInput("project-05", "已有项目", "xixin-hutong", 100))
    db.session.commit()
    response = _upload(client, _csv(_rows()), "bureau.csv")
    assert response.status_code == 422
    assert "<td>6</td>" in response.get_data(as_text=True)
    assert _count(db) == 1


@pytest.mark.parametrize(
    "data, name, message",
    [
        (b"%PDF-1.4 not a sheet", "bureau.pdf", ".csv or .xlsx"),
        (b"PK\x03\x04garbage", "bureau.xlsx", "cannot be read"),
        (b"PK\x03\x04garbage", "bureau.csv", ".csv or .xlsx"),
        ("slug,title\n".encode("gb18030") + "项目,标题\n".encode("gb18030"), "bureau.csv", "UTF-8"),
        (b"", "bureau.csv", "empty"),
        (b"name,amount\nx,1\n", "bureau.csv", "missing: Short name for the address"),
    ],
)
def test_wrong_files_are_refused_with_a_clear_message(staff, data, name, message):
    client, _admin = staff
    before = snapshot()
    response = _upload(client, data, name)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert snapshot() == before


def test_no_file_and_too_many_rows(staff, db):
    client, _admin = staff
    response = client.post("/staff/projects/import?lang=en", data={})
    assert response.status_code == 422 and "Choose the sheet" in response.get_data(as_text=True)
    response = _upload(client, _csv(_rows(services.MAX_IMPORT_ROWS + 1)), "bureau.csv")
    assert response.status_code == 422 and "At most" in response.get_data(as_text=True)
    assert _count(db) == 0


def test_template_download_has_the_header_and_an_example(staff):
    client, _admin = staff
    response = client.get("/staff/projects/import/template.csv")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    # The columns are named in the reader's language (Chinese here), never by their codes.
    assert rows[0][:2] == ["网址短名", "项目名称"] and not set(rows[0]) & set(imports.COLUMNS) and len(rows) == 2
    # The example row is itself importable.
    parsed = imports.read_rows("template.csv", io.BytesIO(response.get_data()))
    assert parsed[0]["slug"] == "reading-corner-2026"


def test_the_service_refuses_everything_when_a_row_is_bad(staff, db):
    _client, admin = staff
    rows = [dict(zip(HEADER, r, strict=True)) for r in _rows(3)]
    rows[2]["goal_yuan"] = "-1"
    with pytest.raises(ValidationError) as refused:
        services.import_projects(admin, rows)
    assert list(refused.value.fields) == ["第 4 行"]
    db.session.rollback()
    assert _count(db) == 0


def test_an_xlsx_that_unpacks_to_too_much_is_refused(staff, monkeypatch):
    client, _admin = staff
    monkeypatch.setattr(imports, "MAX_UNPACKED_BYTES", 1000)
    before = snapshot()
    response = _upload(client, _xlsx(_rows()), "bureau.xlsx")
    assert response.status_code == 422 and "at most" in response.get_data(as_text=True)
    assert snapshot() == before
