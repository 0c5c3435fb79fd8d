"""Every word a client reads is marked for translation, and every marked word has its
Spanish: the templates are read for text outside translation calls, and the messages
extracted (as `pybabel extract` does) are compared with the Spanish catalogue."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
SPANISH = ROOT / "intake" / "translations" / "es" / "LC_MESSAGES" / "messages.po"
# Pages and emails only staff see stay in English.
STAFF_ONLY = re.compile(r"^(staff|therapists|dev)/|^emails/(staff_|password_reset)|_therapist")
METHODS = [("intake/**.py", "python"), ("templates/**.html", "jinja2"),
           ("templates/**.txt", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
            "N_": None}

_TRANS = re.compile(r"{%-?\s*trans\b.*?{%-?\s*endtrans\s*-?%}", re.S)
_CODE = re.compile(r"{#.*?#}|{%.*?%}|{{.*?}}|<!--.*?-->|<script.*?</script>|<style.*?</style>",
                   re.S)
_SPOKEN = re.compile(r'\b(?:aria-label|title|alt|placeholder|label)="([^"]*)"')
_TAG = re.compile(r"<[^>]*>", re.S)
_ATTRIBUTE = re.compile(r"""[\w-]+=("[^"]*"|'[^']*')""")
WORD = re.compile(r"[^\W\d_]{2,}")


def client_templates() -> list[Path]:
    """Return the templates of every page and email a client may read."""
    return sorted(path for path in TEMPLATES.rglob("*") if path.suffix in (".html", ".txt")
                  and not STAFF_ONLY.search(str(path.relative_to(TEMPLATES))))


def untranslated(source: str, html: bool) -> list[str]:
    """Return the words of a template that are outside every translation call."""
    text = _TRANS.sub(" ", source)
    spoken = [_CODE.sub(" ", value) for value in _SPOKEN.findall(text)] if html else []
    text = _CODE.sub(" ", text)
    if html:  # tags, and the attributes a macro writes outside one
        text = _ATTRIBUTE.sub(" ", _TAG.sub(" ", text))
    return [word for part in (text, *spoken) for word in WORD.findall(part)]


def test_every_word_a_client_reads_is_marked_for_translation():
    found = {str(path.relative_to(TEMPLATES)): untranslated(path.read_text(),
                                                            path.suffix == ".html")
             for path in client_templates()}
    assert {name: words for name, words in found.items() if words} == {}
    assert len(found) > 60  # every client page and email was read


def test_the_checker_finds_words_outside_translation_calls():
    assert untranslated('<p>{% trans %}Kept{% endtrans %} Lost</p>', html=True) == ["Lost"]
    assert untranslated('<a aria-label="Close">{{ _("Fine") }}</a>', html=True) == ["Close"]
    assert untranslated("{{ name }} · 988 {# note #}", html=False) == []


def test_every_marked_message_has_its_spanish():
    extracted = {message if isinstance(message, str) else message[0]
                 for _file, _line, message, _comments, _context in extract_from_dir(
                     ROOT, METHODS, keywords=KEYWORDS,
                     options_map={"templates/**": {"trimmed": "true"}})}
    with SPANISH.open("rb") as handle:
        catalogue = read_po(handle)
    missing = sorted(m for m in extracted if m not in catalogue
                     or catalogue[m].fuzzy or not all(_forms(catalogue[m].string)))
    assert missing == []
    assert len(extracted) > 500


def _forms(translated) -> tuple[str, ...]:
    """Return a translation's forms (one, or one per plural form)."""
    return translated if isinstance(translated, tuple) else (translated,)
