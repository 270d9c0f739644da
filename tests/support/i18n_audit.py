"""Finds text people read that is not marked for translation, and marked text with no Hindi.

Three checks, each returning findings as ``Finding(path, line, text, why)``:

- ``template_findings``: a template's text between tags, the attributes people read or hear
  (``title``, ``alt``, ``placeholder``, ``aria-label``, ``data-label``, ...), string literals an
  Alpine expression shows (``x-text="open ? 'Close menu' : ..."``) and capitalised string
  literals in Jinja expressions (``{{ card("Your sessions") }}``) that are not inside ``_()``,
  ``gettext``/``ngettext`` or ``{% trans %}``. Email ``.txt`` templates: all their text.
- ``python_findings``: literal or f-string texts given to ``flash()``, to the domain errors
  (every class of peerlearn/exceptions.py: ``Conflict("...")``, ``RateLimited("...")``,
  ``ValidationError(..., fields={...})``, ...), to WTForms fields and validators, to keyword
  arguments named like texts (``title=``, ``body=``, ``label=``...) and as the ``"message"`` of a
  dict (an error body sent as it is).
- ``catalog_findings``: msgids marked in templates and code with no Hindi in the merged catalog
  (``peerlearn/translations/hi/*.po``), or whose Hindi drops or adds a ``%(name)s`` placeholder.

A line may opt out with a Jinja comment ``{# i18n: not text #}`` (templates) or a
``# i18n: not text`` comment (Python), for the rare literal that looks like text but is not.

Run it on paths (files or folders) to see what is left:
``python -m tests.support.i18n_audit peerlearn/templates/booking peerlearn/services/booking.py``
"""

import ast
import re
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.extract import extract_python
from jinja2 import Environment
from jinja2.ext import babel_extract

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "peerlearn" / "templates"
PACKAGE = ROOT / "peerlearn"

OPT_OUT = "i18n: not text"
# Words that stay in Latin script in Hindi too: names of things, not English.
KEPT_WORDS = re.compile(
    r"\b(PeerLearn|Razorpay|UPI|INR|Janus|WebRTC|HMAC-SHA256|HMAC|SHA-256|JSON|ZIP|HTTPS|URL|API|"
    r"iCal|ICS|VAPID|Google|Apple|Outlook|CSV|PDF|QR|ID|IST|UTC|OpenAPI|RQ|Redis|SQLite|PostgreSQL)\b"
)
LETTERS = re.compile(r"[A-Za-z]")
PLACEHOLDER = "\x01"  # stands for a Jinja expression or tag in the text the HTML parser reads

# Attributes whose value people read or hear.
TEXT_ATTRIBUTES = {
    "title",
    "alt",
    "placeholder",
    "aria-label",
    "aria-description",
    "aria-roledescription",
    "aria-valuetext",
    "aria-placeholder",
    "label",
    "data-label",
    "data-confirm",
    "data-title",
    "data-message",
}
META_TEXT = {
    "description",
    "og:title",
    "og:description",
    "twitter:title",
    "twitter:description",
    "application-name",
    "apple-mobile-web-app-title",
}
BUTTON_INPUTS = {"submit", "button", "reset"}
# Alpine attributes whose string literals end up on screen.
ALPINE_TEXT = re.compile(r"^(x-text|x-html|(?::|x-bind:)(" + "|".join(sorted(TEXT_ATTRIBUTES)) + r"))$")
ALPINE_LITERAL = re.compile(r"'((?:[^'\\]|\\.)*)'|`((?:[^`\\]|\\.)*)`")
TRANSLATING_CALLS = {"_", "gettext", "ngettext", "pgettext", "npgettext", "_l", "lazy_gettext"}
SKIPPED_ELEMENTS = {"script", "style"}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    text: str
    why: str

    def __str__(self):
        return f"{self.path}:{self.line}: {self.why}: {self.text!r}"


def _relative(path):
    path = Path(path).resolve()
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def is_text(value):
    """Whether ``value`` holds words to translate (letters left once kept names are removed)."""
    return bool(LETTERS.search(KEPT_WORDS.sub("", value.replace(PLACEHOLDER, " "))))


def _environment():
    return Environment(extensions=["jinja2.ext.i18n"])  # noqa: S701 - lexing only, nothing rendered


def _unquoted(token):
    """A Jinja string token's text: the lexer hands it over with its quotes."""
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "'\"":
        return token[1:-1]
    return token


def _template_pieces(source):
    """The template as the browser would get its markup: Jinja's data tokens, with every
    expression or tag replaced by PLACEHOLDER and ``{% trans %}`` blocks dropped; plus the
    capitalised string literals of expressions that are not translated, as (line, text)."""
    env = _environment()
    out = []
    literals = []
    line_of = []  # the template line each character of ``out`` came from
    in_trans = False
    last_block_name = None
    expect_block_name = False
    calls = []  # per open parenthesis: whether it is a translating call's
    previous = None
    # Inside ``{% block body_class %}...{% endblock %}`` and its kind the data is class names.
    in_class_block = False
    for lineno, kind, value in env.lex(source):
        if kind == "block_begin":
            expect_block_name = True
            continue
        if expect_block_name and kind == "name":
            last_block_name = value
            expect_block_name = False
            if value == "trans":
                in_trans = True
            elif value == "endtrans":
                in_trans = False
            elif value == "endblock":
                in_class_block = False
        elif kind not in ("whitespace",):
            if kind == "name" and last_block_name == "block" and previous == ("name", "block"):
                in_class_block = value.endswith("_class")
            expect_block_name = False
        if kind == "data":
            if not in_trans and not in_class_block:
                out.append(value)
                line_of.extend([lineno] * len(value))
                # a data token's own newlines move its lines on
                if "\n" in value:
                    running = lineno
                    start = len(line_of) - len(value)
                    for index, char in enumerate(value):
                        line_of[start + index] = running
                        if char == "\n":
                            running += 1
            continue
        if kind in ("variable_begin", "block_begin") and not in_trans:
            out.append(PLACEHOLDER)
            line_of.append(lineno)
        if kind == "operator" and value == "(":
            calls.append(previous is not None and previous[0] == "name" and previous[1] in TRANSLATING_CALLS)
        elif kind == "operator" and value == ")" and calls:
            calls.pop()
        elif (
            kind == "string"
            and not in_trans
            and not any(calls[-1:])
            and last_block_name not in ("include", "extends", "import", "from")
            and re.match(r"^[A-Z][a-z]+[a-z ,.!?'’:-]*$", _unquoted(value))
            and is_text(_unquoted(value))
        ):
            literals.append((lineno, _unquoted(value)))
        if kind not in ("whitespace",):
            previous = (kind, value)
    return "".join(out), line_of, literals


class _TextParser(HTMLParser):
    def __init__(self, text, line_of):
        super().__init__(convert_charrefs=True)
        self.found = []
        self._skipping = 0
        self._text = text
        self._line_of = line_of
        self._offsets = [0]
        for index, char in enumerate(text):
            if char == "\n":
                self._offsets.append(index + 1)

    def _template_line(self):
        line, column = self.getpos()
        offset = min(self._offsets[line - 1] + column, len(self._line_of) - 1)
        return self._line_of[offset] if self._line_of else line

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED_ELEMENTS:
            self._skipping += 1
        attributes = {name: (value or "") for name, value in attrs}
        for name, value in attrs:
            value = value or ""
            human = name in TEXT_ATTRIBUTES
            if name == "value" and tag == "input" and attributes.get("type") in BUTTON_INPUTS:
                human = True
            if name == "content" and tag == "meta":
                human = (attributes.get("name") or attributes.get("property")) in META_TEXT
            if human and is_text(value):
                self.found.append((self._template_line(), value.strip(), f"untranslated {name}="))
            elif ALPINE_TEXT.match(name):
                for single, backtick in ALPINE_LITERAL.findall(value):
                    literal = single or backtick
                    if is_text(literal) and re.search(r"[A-Z]|\s", literal):
                        self.found.append(
                            (
                                self._template_line(),
                                literal,
                                f"untranslated text in {name}= (pass it in from _(), e.g. a data- attribute)",
                            )
                        )

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in SKIPPED_ELEMENTS:
            self._skipping -= 1

    def handle_endtag(self, tag):
        if tag in SKIPPED_ELEMENTS and self._skipping:
            self._skipping -= 1

    def handle_data(self, data):
        if self._skipping:
            return
        text = " ".join(data.replace(PLACEHOLDER, " ").split())
        if is_text(data):
            self.found.append((self._template_line(), text, "untranslated text"))


def _opted_out(source_lines, line):
    return 0 < line <= len(source_lines) and OPT_OUT in source_lines[line - 1]


def _findings(path, lines, found):
    name = _relative(path)
    kept = {Finding(name, line, text, why) for line, text, why in found if not _opted_out(lines, line)}
    return sorted(kept, key=lambda f: (f.line, f.text))


def template_findings(path):
    path = Path(path)
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    text, line_of, literals = _template_pieces(source)
    found = [(line, value, "untranslated string in an expression") for line, value in literals]
    if path.suffix == ".txt":
        running = 1
        for index, piece in enumerate(text.split("\n")):
            start = sum(len(p) + 1 for p in text.split("\n")[:index])
            running = line_of[start] if start < len(line_of) else running
            if is_text(piece):
                words = " ".join(piece.replace(PLACEHOLDER, " ").split())
                found.append((running, words, "untranslated text"))
    else:
        parser = _TextParser(text, line_of)
        parser.feed(text)
        parser.close()
        found.extend(parser.found)
    return _findings(path, lines, found)


# --- Python -----------------------------------------------------------------------------------

ERROR_CALLS = {
    "flash",
    "DomainError",
    "ValidationError",
    "AuthenticationError",
    "PermissionDenied",
    "NotFound",
    "Conflict",
    "TokenInvalid",
    "UnsupportedMediaType",
    "PaymentRejected",
    "ValidationError_",
}


def domain_errors(path=PACKAGE / "exceptions.py"):
    """The names of the domain errors (every class of peerlearn/exceptions.py): their message is
    what the page, the API or the room shows, so a new one is checked without being listed here."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.ClassDef)}


ERROR_CALLS |= domain_errors()
# The API's answers (peerlearn/api_envelope.py): the position of the message people read,
# ok(data, "Saved.") and error_response(status, code, "Not found.").
MESSAGE_SECOND = {"ok": 1, "error_response": 2}
# A module's own helpers that build an error from a message: _field_error("..."), _refuse("...").
ERROR_HELPERS = re.compile(r"^_\w*(error|refus\w*|reject\w*)$", re.IGNORECASE)
TEXT_KEYWORDS = {
    "message",
    "title",
    "body",
    "label",
    "subject",
    "description",
    "hint",
    "help_text",
    "summary",
}
# Columns that hold a sentence PeerLearn writes in English and shows in the reader's language: the
# sentence comes from peerlearn/system_texts.py (marked there, translated where it is shown).
STORED_TEXT_KEYWORDS = {
    "reason",
    "failure_reason",
    "cancel_reason",
    "disabled_reason",
    "delete_reason",
    "progress_step",
}
WTFORMS_VALIDATORS = {
    "DataRequired",
    "InputRequired",
    "Length",
    "Email",
    "EqualTo",
    "NumberRange",
    "Regexp",
    "URL",
    "Optional",
    "AnyOf",
    "NoneOf",
}


def _call_name(node):
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _literal_text(node):
    """The text of a literal string or f-string node that holds words, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and is_text(node.value):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = [v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
        text = "{…}".join(parts)
        if is_text(text):
            return text
    return None


def _texts_in(node):
    """Literal texts anywhere in a container node (a list of messages, a dict's values)."""
    if isinstance(node, ast.Dict):
        for value in node.values:
            yield from _texts_in(value)
    elif isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        for element in node.elts:
            yield from _texts_in(element)
    else:
        text = _literal_text(node)
        if text is not None:
            yield node, text


def python_findings(path):
    path = Path(path)
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Subscript) for t in node.targets):
            # errors["field"] = ["A message."]: a form's or a service's field errors
            if isinstance(node.value, (ast.List, ast.Tuple)):
                for inner, text in _texts_in(node.value):
                    if re.search(r"[A-Z ]", text):
                        found.append((inner.lineno, text, "untranslated field error"))
            continue
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Attribute) and t.attr in STORED_TEXT_KEYWORDS for t in node.targets
        ):
            # recording.progress_step = "Ready": a stored sentence written as a literal
            text = _literal_text(node.value)
            if text is not None and re.search(r"[A-Z ]", text):
                found.append((node.value.lineno, text, "stored text not from system_texts"))
            continue
        if isinstance(node, ast.Dict):
            # {"code": ..., "message": "..."}: an error body the API or the room sends as it is
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "message":
                    text = _literal_text(value)
                    if text is not None and re.search(r"[A-Z ]", text):
                        found.append((value.lineno, text, "untranslated 'message' in a dict"))
            continue
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        if name in TRANSLATING_CALLS:
            continue
        if name in MESSAGE_SECOND and len(node.args) > MESSAGE_SECOND[name]:
            text = _literal_text(node.args[MESSAGE_SECOND[name]])
            if text is not None and re.search(r"[A-Z ]", text):
                found.append((node.lineno, text, f"untranslated message given to {name}()"))
        if name and ERROR_HELPERS.search(name) and node.args:
            text = _literal_text(node.args[0])
            if text is not None and re.search(r"[A-Z ]", text):
                found.append((node.args[0].lineno, text, f"untranslated text given to {name}()"))
        if name in ERROR_CALLS or (name or "").endswith("Field") or name in WTFORMS_VALIDATORS:
            if node.args and name not in WTFORMS_VALIDATORS:
                text = _literal_text(node.args[0])
                if text is not None:
                    found.append((node.args[0].lineno, text, f"untranslated text given to {name}()"))
            for keyword in node.keywords:
                if keyword.arg == "fields" or keyword.arg == "choices":
                    for inner, text in _texts_in(keyword.value):
                        is_value = keyword.arg == "choices" and not re.search(r"[A-Z ]", text)
                        if is_value:
                            continue  # a choice's value, not its label
                        found.append((inner.lineno, text, f"untranslated {keyword.arg}= text in {name}()"))
        for keyword in node.keywords:
            if keyword.arg in STORED_TEXT_KEYWORDS:
                text = _literal_text(keyword.value)
                if text is not None and re.search(r"[A-Z ]", text):
                    found.append((keyword.value.lineno, text, f"stored {keyword.arg}= not from system_texts"))
            if keyword.arg in TEXT_KEYWORDS:
                text = _literal_text(keyword.value)
                if text is not None and re.search(r"[A-Z ]", text):
                    found.append((keyword.value.lineno, text, f"untranslated {keyword.arg}="))
    return _findings(path, lines, found)


# --- Catalog ----------------------------------------------------------------------------------

PYTHON_KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "lazy_gettext": None,
    "_l": None,
    "lazy_ngettext": (1, 2),
    "lazy_pgettext": ((1, "c"), 2),
    "N_": None,  # a sentence stored in English and translated when shown (peerlearn/system_texts.py)
}
PLACEHOLDERS = re.compile(r"%\((\w+)\)[sdif]")


CONTEXT_CALLS = {"pgettext", "npgettext", "lazy_pgettext"}


def marked_messages(path):
    """The msgids marked in one template or Python file, as (line, msgid, plural or None,
    context or None): ``pgettext("payout", "To")`` is "To" in the context "payout"."""
    path = Path(path)
    with path.open("rb") as handle:
        if path.suffix == ".py":
            extracted = list(extract_python(handle, PYTHON_KEYWORDS, [], {}))
        else:
            extracted = list(
                babel_extract(
                    handle,
                    ("_", "gettext", "ngettext", "pgettext", "npgettext"),
                    [],
                    {"extensions": "jinja2.ext.i18n"},
                )
            )
    messages = []
    for line, function, message, _comments in extracted:
        parts = list(message) if isinstance(message, tuple) else [message]
        context = parts.pop(0) if function in CONTEXT_CALLS and len(parts) > 1 else None
        singular = parts[0] if parts else None
        plural = parts[1] if len(parts) > 1 else None
        if isinstance(singular, str) and singular:
            messages.append((line, singular, plural if isinstance(plural, str) else None, context))
    return messages


def catalog_findings(paths, catalog=None):
    if catalog is None:
        from peerlearn import i18n

        catalog = i18n.load_catalog("hi")
    found = []
    for path in paths:
        for line, msgid, plural, context in marked_messages(path):
            entry = catalog.get(msgid, context=context) if catalog is not None else None
            strings = []
            if entry is not None:
                strings = list(entry.string) if isinstance(entry.string, (tuple, list)) else [entry.string]
            shown = f"{context}|{msgid}" if context else msgid
            if entry is None or not all(strings):
                found.append(Finding(_relative(path), line, shown, "no Hindi for"))
                continue
            wanted = set(PLACEHOLDERS.findall(msgid)) | set(PLACEHOLDERS.findall(plural or ""))
            for string in strings:
                have = set(PLACEHOLDERS.findall(string))
                if have - wanted or (wanted - have and not plural):
                    found.append(Finding(_relative(path), line, shown, "Hindi placeholders differ for"))
                    break
    return found


def source_files(paths):
    """Templates (.html, .txt) and Python files under ``paths``."""
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(p for p in sorted(path.rglob("*")) if p.suffix in (".html", ".txt", ".py"))
        elif path.suffix in (".html", ".txt", ".py"):
            files.append(path)
    return files


def audit(paths):
    files = source_files(paths)
    findings = []
    for path in files:
        findings.extend(python_findings(path) if path.suffix == ".py" else template_findings(path))
    findings.extend(catalog_findings(files))
    return findings


def main(argv):
    findings = audit(argv or [TEMPLATES])
    for finding in findings:
        print(finding)
    print(f"{len(findings)} finding(s)", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
