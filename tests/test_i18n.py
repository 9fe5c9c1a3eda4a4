"""The Simplified Chinese catalogue is complete and current, and the locale choice works.

zh_CN is the default locale, so every msgid in the code needs a Chinese translation.
When one of these tests fails after you added or changed a UI string, run
`make extract-messages`, translate the new entries in
translations/zh_Hans_CN/LC_MESSAGES/messages.po, then `make translations`.

The folder is zh_Hans_CN because Babel reads the locale "zh_CN" as zh_Hans_CN and
Flask-Babel looks for the catalogue under that name.
"""

import gettext
import re
import shlex
from collections import Counter
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
CATALOGUE_DIR = str(Locale.parse("zh_CN"))
PO_PATH = TRANSLATIONS / CATALOGUE_DIR / "LC_MESSAGES" / "messages.po"
MO_PATH = PO_PATH.with_suffix(".mo")
FIX = (
    "Run `make extract-messages`, translate every new or empty entry in "
    f"translations/{CATALOGUE_DIR}/LC_MESSAGES/messages.po (no fuzzy flags), then `make translations`."
)

# printf-style conversions as Python's % operator reads them; "%%" is a literal percent sign.
PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<type>[diouxXeEfFgGcrsa%])"
)


def placeholders(text: str) -> Counter:
    return Counter((m["name"], m["type"]) for m in PLACEHOLDER.finditer(text or "") if m["type"] != "%")


def describe(message) -> str:
    msgid = message.id if isinstance(message.id, str) else " | ".join(message.id)
    where = ", ".join(f"{path}:{line}" for path, line in message.locations[:2])
    return f"{msgid!r} ({where})" if where else repr(msgid)


def read_catalogue(path: Path):
    with path.open("rb") as f:
        return read_po(f)


@pytest.fixture(scope="module")
def catalogue():
    assert PO_PATH.exists(), (
        f"No catalogue at {PO_PATH.relative_to(ROOT)}: Flask-Babel looks for the zh_CN translations "
        f"in translations/{CATALOGUE_DIR}/ (Babel's name for zh_CN), so keep the catalogue there."
    )
    return read_catalogue(PO_PATH)


def test_catalogue_folders_are_named_as_flask_babel_looks_them_up():
    folders = [p.parent.parent.name for p in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")]
    wrong = {name: str(Locale.parse(name)) for name in folders if str(Locale.parse(name)) != name}
    renames = ", ".join(f"{name} -> {right}" for name, right in wrong.items())
    assert not wrong, f"Flask-Babel never reads these catalogues; rename the folders under translations/: {renames}"


def test_plural_forms_header_is_chinese(catalogue):
    assert catalogue.num_plurals == 1 and catalogue.plural_expr.strip() == "0", (
        'The zh_CN header must say "Plural-Forms: nplurals=1; plural=0;"'
    )
    assert not catalogue.fuzzy, "The header of messages.po is marked fuzzy; remove the flag."


def test_every_message_is_translated_with_the_same_placeholders(catalogue):
    problems = []
    for message in catalogue:
        if not message.id:
            continue
        if message.fuzzy:
            problems.append(f"fuzzy: {describe(message)}")
        if message.pluralizable:
            ids = message.id
            strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
            if len(strings) != catalogue.num_plurals:
                problems.append(f"needs exactly {catalogue.num_plurals} plural form(s): {describe(message)}")
            expected = set(placeholders(ids[-1]))
            for i, text in enumerate(strings):
                if not text:
                    problems.append(f"untranslated msgstr[{i}]: {describe(message)}")
                elif set(placeholders(text)) != expected:
                    problems.append(f"placeholders differ in msgstr[{i}]: {describe(message)} -> {text!r}")
        elif not message.string:
            problems.append(f"untranslated: {describe(message)}")
        elif placeholders(message.string).keys() != placeholders(message.id).keys():
            problems.append(f"placeholders differ: {describe(message)} -> {message.string!r}")
    assert not problems, "zh_CN catalogue problems:\n  " + "\n  ".join(problems) + "\n" + FIX


def _extract_arguments(pot_path: Path) -> list[str]:
    """The `pybabel extract` options of the Makefile's extract-messages target, writing to pot_path."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    line = next(
        (ln for ln in makefile.splitlines() if ln.startswith("\t") and "pybabel extract" in ln),
        None,
    )
    assert line, "The Makefile's extract-messages target no longer runs `pybabel extract`."
    words = shlex.split(line.strip())
    args = words[words.index("extract") + 1 :]
    for option in ("-o", "--output-file", "--output"):
        if option in args:
            args[args.index(option) + 1] = str(pot_path)
            break
    else:
        args = [a for a in args if not a.startswith("--output")] + ["-o", str(pot_path)]
    return args


def test_catalogue_has_every_string_in_the_code(catalogue, tmp_path, monkeypatch):
    pot_path = tmp_path / "fresh.pot"
    monkeypatch.chdir(ROOT)
    CommandLineInterface().run(["pybabel", "-q", "extract", *_extract_arguments(pot_path)])
    fresh = read_catalogue(pot_path)

    missing = []
    for message in fresh:
        if not message.id:
            continue
        known = catalogue.get(message.id if isinstance(message.id, str) else message.id[0])
        if known is None or known.id != message.id:
            missing.append(describe(message))
    assert not missing, (
        f"{len(missing)} UI string(s) in the code are not in the zh_CN catalogue:\n  "
        + "\n  ".join(missing)
        + "\n"
        + FIX
    )


def test_the_extractor_reads_every_template_that_has_strings(tmp_path, monkeypatch):
    """A template the extractor cannot parse (a tag it does not know) is skipped without a word,
    and its strings would leave the catalogue at the next extraction."""
    pot_path = tmp_path / "fresh.pot"
    monkeypatch.chdir(ROOT)
    CommandLineInterface().run(["pybabel", "-q", "extract", *_extract_arguments(pot_path)])
    read = {path for message in read_catalogue(pot_path) for path, _line in message.locations}
    skipped = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "templates").rglob("*.html"))
        if "_(" in path.read_text(encoding="utf-8") and str(path.relative_to(ROOT)) not in read
    ]
    assert skipped == [], "The extractor skipped these templates; is every template extension in babel.cfg?"


def test_compiled_catalogue_matches_the_po_file(catalogue):
    assert MO_PATH.exists(), f"{MO_PATH.relative_to(ROOT)} is missing: run `make translations`."
    with MO_PATH.open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    stale = []
    for message in catalogue:
        strings = message.string if message.pluralizable else (message.string,)
        if not message.id or message.fuzzy or not all(strings):
            continue  # reported by test_every_message_is_translated_with_the_same_placeholders
        if message.pluralizable:
            got = compiled.ngettext(message.id[0], message.id[1], 1)
            want = message.string[0]
        else:
            got, want = compiled.gettext(message.id), message.string
        if got != want:
            stale.append(describe(message))
    assert not stale, (
        f"{MO_PATH.relative_to(ROOT)} is older than messages.po ({len(stale)} message(s) differ, "
        f"e.g. {stale[0]}): run `make translations`."
    )


# --- the locale choice through the web ------------------------------------------------------


def page(client, path="/", **kwargs):
    # The autouse `db` fixture keeps an app context open, and a request reuses it, so `g`
    # (where Flask-Babel caches the locale) would outlive the request. A fresh app context
    # per request gives each request its own `g`, as in production.
    with client.application.app_context():
        response = client.get(path, **kwargs)
        return response, response.get_data(as_text=True)


def assert_chinese(html):
    assert "微心愿" in html
    assert "Micro-wish" not in html


def assert_english(html):
    assert "Micro-wish" in html
    assert "small wish come true" in html
    assert "微心愿" not in html


def test_public_list_is_chinese_by_default(app):
    response, html = page(app.test_client())
    assert response.status_code == 200
    assert_chinese(html)
    assert "帮孩子圆一个小小的心愿" in html
    assert "lang=" not in response.headers.get("Set-Cookie", "")


def test_public_list_in_english_with_accept_language(app):
    client = app.test_client()
    response, html = page(client, headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert response.status_code == 200
    assert_english(html)
    assert client.get_cookie("lang") is None, "Only an explicit choice is remembered."
    _, html = page(client, headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert_chinese(html)


def test_lang_parameter_switches_and_the_cookie_keeps_the_choice(app):
    client = app.test_client()
    response, html = page(client, "/?lang=en")
    assert response.status_code == 200
    assert_english(html)
    assert client.get_cookie("lang").value == "en"

    _, html = page(client, headers={"Accept-Language": "zh-CN"})
    assert_english(html)

    _, html = page(client, "/?lang=zh_CN", headers={"Accept-Language": "en"})
    assert_chinese(html)
    assert client.get_cookie("lang").value == "zh_CN"
    _, html = page(client, headers={"Accept-Language": "en"})
    assert_chinese(html)


def test_unknown_lang_parameter_is_ignored(app):
    client = app.test_client()
    _, html = page(client, "/?lang=xx")
    assert_chinese(html)
    assert client.get_cookie("lang") is None


def test_not_found_page_in_both_languages(app):
    response, html = page(app.test_client(), "/no-such-page")
    assert response.status_code == 404
    assert_chinese(html)
    assert "抱歉，找不到您要访问的页面。" in html
    assert "返回心愿列表" in html

    response, html = page(app.test_client(), "/no-such-page?lang=en")
    assert response.status_code == 404
    assert "We could not find that page." in html
    assert "Back to the wishes" in html
    assert "微心愿" not in html
