"""Chinese sentences use Chinese punctuation: full-width ：（），？！ beside Chinese text.

A Chinese reader sees "专项基金: 溪心护童" as a half-finished translation. The compiled
catalogue is checked message by message (placeholders such as %(name)s, times such as
14:05 and URLs keep their ASCII), and a template may not glue an ASCII colon or bracket to
a translated label outside `_()`, where no translator can change it.
"""

import gettext
import re
from pathlib import Path

from babel import Locale

ROOT = Path(__file__).resolve().parent.parent
MO_PATH = ROOT / "translations" / str(Locale.parse("zh_CN")) / "LC_MESSAGES" / "messages.mo"

CJK = "[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]"
#: printf placeholders and {braces}: their brackets belong to the code, not to the sentence.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]|\{[^}]*\}")
URL = re.compile(r"https?://\S+")
ASCII_BESIDE_CJK = re.compile(rf"{CJK} ?[:()?!,;]|[:()?!,;] ?{CJK}")


def ascii_beside_chinese(text: str) -> list[str]:
    text = URL.sub("\x00", PLACEHOLDER.sub("\x00", text))
    return [m.group(0) for m in ASCII_BESIDE_CJK.finditer(text)]


def compiled_messages() -> dict:
    with MO_PATH.open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)
    return catalogue._catalog


def test_the_check_tells_chinese_punctuation_from_ascii():
    assert ascii_beside_chinese("专项基金: %(name)s")
    assert ascii_beside_chinese("%(alias)s (%(age)d 岁)")
    assert ascii_beside_chinese("已保存!")
    assert not ascii_beside_chinese("专项基金：%(name)s")
    assert not ascii_beside_chinese("（%(n)d）每天 14:05 发送")
    assert not ascii_beside_chinese("请打开 https://example.org/a:b 查看")


def test_every_chinese_message_uses_full_width_punctuation():
    found = []
    for msgid, msgstr in compiled_messages().items():
        if not msgid:
            continue  # the catalogue's header
        if bad := ascii_beside_chinese(msgstr):
            found.append(f"{msgid!r} → {msgstr!r}: {bad}")
    assert not found, "Use ：（），？！ in Chinese sentences:\n" + "\n".join(found)


#: A translated label with ASCII punctuation glued on outside `_()`:
#: `{{ _("Fund") }}: {{ x }}`, `({{ _("you") }})`.
GLUED = re.compile(r"""_\((["'])(?:(?!\1).)*\1[^{}]*?\)\s*}}\s*[:(?!]|\(\s*{{\s*_\(""")


def test_no_template_glues_ascii_punctuation_to_a_translated_label():
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if GLUED.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert not found, "Move the punctuation inside the translated string:\n" + "\n".join(found)
    assert GLUED.search('<p>{{ _("Fund") }}: {{ x }}</p>') and GLUED.search('({{ _("you") }})')
