"""The hostile-values harness: the values, where the app takes input (found from the app itself), and a storm that
throws every value at every place and writes down each answer that is a server error or a refusal without words.

Targets are discovered, not listed: GET routes from `app.url_map` with the query arguments each view reads (recorded
while the crawl fetches it, plus the fields of the page's own GET forms); HTML forms from the pages a signed-in admin
can reach from the start page; JSON body routes from the url_map and their fields from the OpenAPI spec; sync event
types from `app.services.sync.HANDLERS`. What cannot be found that way — concrete values for path arguments the
crawl did not reach, a valid body per JSON route and a valid `data` per event type — is a short table here, and a
route or event type missing from it is itself a finding, so new ones are never skipped silently.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote_from_bytes, urlsplit

from flask import Flask, Request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import Rule

# The values ------------------------------------------------------------------------------------------------------

TEN_MB = 10 * 1024 * 1024
# The sync door takes at most 1 MB, so the long string in a JSON body stays inside that.
LONG_JSON = 600_000


@dataclass(frozen=True)
class Value:
    """One hostile value: as a query argument or form field (`text`: str, or bytes sent as they are), and as a
    JSON value (`json`: the JSON text itself, since some of these cannot be written by json.dumps)."""

    name: str
    text: str | bytes | None
    json: str | None


def _j(text: str) -> str:
    return json.dumps(text)


VALUES: dict[str, Value] = {
    v.name: v
    for v in [
        Value("nul", "a\x00b", '"a\\u0000b"'),
        # A lone surrogate: the WTF-8 bytes of U+D800 in a form or URL, the escape in JSON.
        Value("surrogate", b"a\xed\xa0\x80b", '"a\\ud800b"'),
        Value("long", "x" * TEN_MB, _j("x" * LONG_JSON)),
        Value("deep", "[" * 1000 + "]" * 1000, "[" * 1000 + "]" * 1000),
        Value("int_2_63", str(2**63), str(2**63)),
        Value("int_neg", "-1", "-1"),
        Value("int_1e30", str(10**30), str(10**30)),
        Value("year_1", "0001-01-01", _j("0001-01-01")),
        Value("year_999", "0999-12-31", _j("0999-12-31")),
        Value("year_1970", "1970-01-01", _j("1970-01-01")),
        Value("year_9999", "9999-12-31", _j("9999-12-31")),
        Value("first_moment", "0001-01-01T00:00:00+23:59", _j("0001-01-01T00:00:00+23:59")),
        Value("last_moment", "9999-12-31T23:59:59-23:59", _j("9999-12-31T23:59:59-23:59")),
        Value("offset_plus_25h", "2026-03-02T10:00:00+25:00", _j("2026-03-02T10:00:00+25:00")),
        Value("offset_minus_25h", "2026-03-02T10:00:00-25:00", _j("2026-03-02T10:00:00-25:00")),
        Value("crlf", "/a\r\nSet-Cookie: hostile=1", _j("/a\r\nSet-Cookie: hostile=1")),
        Value("infinity", "Infinity", "Infinity"),
        Value("nan", "NaN", "NaN"),
        Value("huge_float", "1e999999", "1e999999"),
        # Wrong JSON types where the app expects text.
        Value("list", None, '["good"]'),
        Value("object", None, '{"value": "good"}'),
        Value("true", None, "true"),
        Value("float", None, "1.5"),
    ]
}
# Every field gets these; fields that feed the database get all of VALUES.
REPRESENTATIVE = (
    "nul",
    "surrogate",
    "int_2_63",
    "int_1e30",
    "int_neg",
    "year_1",
    "year_9999",
    "last_moment",
    "offset_plus_25h",
    "crlf",
    "nan",
)
# The classes the request guard (app/inputs.py) refuses before any view runs.
GUARDED = {"nul", "surrogate", "deep", "infinity", "nan", "huge_float"}


def text_values(names: Iterable[str]) -> list[Value]:
    return [VALUES[n] for n in names if VALUES[n].text is not None]


def json_values(names: Iterable[str] | None = None) -> list[Value]:
    return [VALUES[n] for n in (names or VALUES) if VALUES[n].json is not None]


def as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


def urlencode(pairs: Iterable[tuple[str, str | bytes]]) -> str:
    """A query string or form body; bytes values go as they are (that is how a lone surrogate gets through)."""
    return "&".join(f"{quote_from_bytes(as_bytes(k))}={quote_from_bytes(as_bytes(v))}" for k, v in pairs)


def multipart(fields: list[tuple[str, str | bytes]], files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body written by hand, so any bytes can go in any part."""
    boundary = "hostile" + secrets.token_hex(8)
    out = bytearray()
    for name, value in fields:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += as_bytes(value) + b"\r\n"
    for name, filename, content in files:
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        out += content + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


# Reading pages ---------------------------------------------------------------------------------------------------


@dataclass
class Field:
    name: str
    kind: str  # input type, "select", "textarea"
    value: str = ""
    options: list[str] = field(default_factory=list)

    @property
    def feeds_database(self) -> bool:
        """Typed text that a POST may store (selects, boxes and hidden fields get the representative values)."""
        return self.kind in ("text", "textarea", "email", "search", "number", "date", "datetime-local", "tel", "url")


@dataclass
class Form:
    page: str
    action: str
    method: str
    multipart: bool
    fields: list[Field] = field(default_factory=list)

    def key(self) -> tuple:
        return (self.method, _route_shape(self.action), tuple(sorted(f.name for f in self.fields)))


def _route_shape(path: str) -> str:
    return re.sub(r"/[^/]*\d[^/]*", "/#", urlsplit(path).path)


VOID = {"input", "br", "img", "meta", "link", "hr", "source", "area", "base", "col", "embed", "track", "wbr"}


class PageParser(HTMLParser):
    """Links, forms with their fields, and whether the page shows an error message."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.links: list[str] = []
        self.forms: list[Form] = []
        self.csrf: str | None = None
        self.messages: list[str] = []
        self.headings: list[str] = []
        self._heading = False
        self._form: Form | None = None
        self._select: Field | None = None
        self._textarea: Field | None = None
        self._message_depth = 0
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag not in VOID:
            self._depth += 1
        if tag in ("h1", "title"):
            self._heading = True
            self.headings.append("")
        self._note_message(tag, a)
        self.links.extend(a[attr] for attr in ("href", "hx-get", "action", "hx-post") if a.get(attr))
        if tag == "body" and a.get("hx-headers"):
            with contextlib.suppress(ValueError):
                self.csrf = json.loads(a["hx-headers"]).get("X-CSRFToken")
        if tag == "form":
            self._open_form(a)
        elif self._form is not None and tag in ("input", "select", "textarea", "button") and a.get("name"):
            self._form_field(self._form, tag, a)
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            self._select.options.append(value)
            if "selected" in a or not self._select.value:
                self._select.value = value

    def _note_message(self, tag: str, a: dict[str, str]) -> None:
        """An alert or error box starts a message, unless one is already open."""
        if tag in VOID or self._message_depth != 0:
            return
        if a.get("role") == "alert" or {"error", "error-box"} & set(a.get("class", "").split()):
            self._message_depth = self._depth
            self.messages.append("")

    def _open_form(self, a: dict[str, str]) -> None:
        """A form: where it sends (hx-post, a POST action, hx-get, its action, else this page) and how."""
        post = a.get("hx-post") or (a.get("action") if a.get("method", "get").lower() == "post" else None)
        method = "POST" if post or a.get("method", "get").lower() == "post" else "GET"
        action = post or a.get("hx-get") or a.get("action") or self.page
        enc = (a.get("enctype") or a.get("hx-encoding") or "").lower()
        self._form = Form(self.page, action, method, enc == "multipart/form-data")
        self.forms.append(self._form)

    def _form_field(self, form: Form, tag: str, a: dict[str, str]) -> None:
        """A named control of the open form: buttons with a value, checkbox and radio choices gathered under
        one field, and the first of any other name."""
        kind = "select" if tag == "select" else "textarea" if tag == "textarea" else a.get("type", "text").lower()
        if tag == "button" or kind in ("submit", "button", "reset", "image"):
            if a.get("value"):
                form.fields.append(Field(a["name"], "button", a["value"]))
            return
        if kind in ("checkbox", "radio") and "checked" not in a:
            existing = next((f for f in form.fields if f.name == a["name"]), None)
            if existing is not None:
                existing.options.append(a.get("value", "on"))
            else:
                form.fields.append(Field(a["name"], kind, "", [a.get("value", "on")]))
            return
        f = Field(a["name"], kind, a.get("value", "on" if kind in ("checkbox", "radio") else ""))
        if not any(x.name == f.name for x in form.fields):
            form.fields.append(f)
        if tag == "select":
            self._select = f
        elif tag == "textarea":
            self._textarea = f

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if tag in ("h1", "title"):
            self._heading = False
        if self._message_depth == self._depth:
            self._message_depth = 0
        self._depth -= 1
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_data(self, data: str) -> None:
        if self._heading:
            self.headings[-1] += data
        if self._message_depth:
            self.messages[-1] += data
        if self._textarea is not None:
            self._textarea.value += data


def parse(page: str, html: str) -> PageParser:
    parser = PageParser(page)
    parser.feed(html)
    parser.close()
    return parser


def body_json(resp) -> Any:
    """A response's JSON read as JSON (the app's own reader refuses some of what a server might send back)."""
    try:
        return json.loads(resp.get_data())
    except ValueError:
        return None


def has_message(resp) -> bool:
    """Whether a refusal tells the person why: JSON `error.message`, or an error or alert with words on the page."""
    if resp.is_json:
        body = body_json(resp) or {}
        message = body.get("error", {}).get("message") if isinstance(body.get("error"), dict) else None
        return bool(message and message.strip())
    if resp.headers.get("HX-Redirect") and resp.status_code == 401:
        return True
    page = parse(resp.request.path, resp.get_data(as_text=True))
    if any(m.strip() for m in page.messages):
        return True
    # A friendly not-found page says so in its heading.
    return resp.status_code == 404 and any(t.strip() for t in page.headings[1:])


def page_summary(resp) -> str:
    page = parse(resp.request.path, resp.get_data(as_text=True))
    return " / ".join(t.strip() for t in page.headings if t.strip())[:120]


# Recording which query arguments a view reads ---------------------------------------------------------------------


class RecordingArgs(ImmutableMultiDict):
    """request.args that remembers the names a view asked for."""

    seen: set[str] | None = None

    def _note(self, key: Any) -> None:
        if RecordingArgs.seen is not None and isinstance(key, str):
            RecordingArgs.seen.add(key)

    def get(self, key, default=None, type=None):  # noqa: A002 - werkzeug's signature
        self._note(key)
        return super().get(key, default, type)

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)

    def getlist(self, key, type=None):  # noqa: A002
        self._note(key)
        return super().getlist(key, type)


def recording(request_class: type[Request]) -> type[Request]:
    """The app's own request class, whose args record what is read."""
    return type("RecordingRequest", (request_class,), {"parameter_storage_class": RecordingArgs})


# Findings ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    surface: str
    where: str  # method and path
    part: str  # the argument, field or event field
    value: str  # the hostile value's name
    problem: str

    def __str__(self) -> str:
        return f"{self.where} {self.part}={self.value}: {self.problem}"


def judge(call: Callable[[], Any]) -> tuple[Any, str | None]:
    """Make the request; the response (or None) and what is wrong with it, if anything."""
    try:
        resp = call()
        # Read a streamed body to its end and close it, as a browser would: a stream left open keeps its request's
        # context (and database session) alive under the next request.
        resp.get_data()
        resp.close()
    except Exception as exc:  # the test app re-raises what the error handler would have turned into a 500
        frames = traceback.extract_tb(exc.__traceback__)
        # Where in the app it broke: the deepest frame of ours, then the deepest of all.
        ours = [f for f in frames if "/app/" in f.filename and "/site-packages/" not in f.filename] or frames
        where = ", ".join(sorted({f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in (ours[-1], frames[-1])}))
        return None, f"500 {type(exc).__name__}: {str(exc)[:160]} ({where})"
    if resp.status_code >= 500:
        return resp, f"{resp.status_code} {resp.get_data(as_text=True)[:160]}"
    if 400 <= resp.status_code < 500 and not has_message(resp):
        return resp, f"{resp.status_code} without a message ({page_summary(resp)})"
    location = resp.headers.get("Location", "")
    if "\r" in location or "\n" in location:
        return resp, "a redirect header carries CR/LF"
    return resp, None


# Sync events --------------------------------------------------------------------------------------------------------


def event(event_type: str, data: dict[str, Any], at: str | None = None) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "at": at or datetime.now(UTC).isoformat(),
        "data": data,
    }


def event_fields(handler_module_source: str) -> set[str]:
    """The `data` fields a handler module reads (text(data, "x"), choice(data, "x"), data.get("x"), data["x"])."""
    names = set(re.findall(r"""(?:text|choice)\(\s*data,\s*["'](\w+)["']""", handler_module_source))
    names |= set(re.findall(r"""data\.get\(\s*["'](\w+)["']""", handler_module_source))
    names |= set(re.findall(r"""data\[\s*["'](\w+)["']\s*\]""", handler_module_source))
    return names


def with_hostile(body: dict[str, Any], path: tuple[str, ...], value_json: str) -> str:
    """`body` as JSON text with the value at `path` replaced by raw JSON (which json.dumps could not write)."""
    marker = f"__hostile_{secrets.token_hex(6)}__"
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = marker
    return json.dumps(body).replace(json.dumps(marker), value_json)


# The crawl ---------------------------------------------------------------------------------------------------------


def rule_of(app: Flask, path: str) -> Rule | None:
    adapter = app.url_map.bind("rollcall.test")
    try:
        rule, _args = adapter.match(urlsplit(path).path, method="GET", return_rule=True)
    except Exception:
        try:
            rule, _args = adapter.match(urlsplit(path).path, method="POST", return_rule=True)
        except Exception:
            return None
    return rule


def get_rules(app: Flask) -> list[Rule]:
    return sorted(
        (r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint != "static"),
        key=lambda r: r.rule,
    )


@dataclass
class Crawl:
    """What a signed-in crawl of the app found: a URL per GET endpoint, the arguments each reads, the forms."""

    urls: dict[str, str] = field(default_factory=dict)
    args: dict[str, set[str]] = field(default_factory=dict)
    forms: dict[tuple, Form] = field(default_factory=dict)
    csrf: str | None = None


def crawl(
    app: Flask,
    client,
    seeds: Iterable[str],
    *,
    skip: Callable[[str], bool],
    note: Callable[[str, str | None], None],
    limit: int = 400,
) -> Crawl:
    """Breadth first from the seeds over links and forms, one page per endpoint (plus the seeds themselves).

    Each page fetched is judged like any other answer and handed to `note(url, problem)`."""
    found = Crawl()
    queue = list(dict.fromkeys(seeds))
    visited: set[str] = set()
    old_class = app.request_class
    app.request_class = recording(old_class)
    try:
        while queue and len(visited) < limit:
            url = queue.pop(0)
            if url in visited or skip(url):
                continue
            rule = rule_of(app, url)
            if rule is None or "GET" not in rule.methods or rule.endpoint == "static":
                continue
            if rule.endpoint in found.urls and url not in seeds:
                continue
            visited.add(url)
            RecordingArgs.seen = set()
            resp, problem = judge(lambda u=url: client.get(u))
            found.args.setdefault(rule.endpoint, set()).update(RecordingArgs.seen)
            RecordingArgs.seen = None
            note(url, problem)
            if resp is None or resp.status_code != 200 and rule.arguments:
                continue
            # A route without path arguments is known by its path, whatever it answers without its arguments.
            found.urls.setdefault(rule.endpoint, urlsplit(url).path)
            if resp.status_code != 200:
                continue
            if not resp.mimetype or resp.mimetype != "text/html":
                continue
            page = parse(urlsplit(url).path, resp.get_data(as_text=True))
            found.csrf = page.csrf or found.csrf
            for form in page.forms:
                if form.method == "GET":
                    target = rule_of(app, form.action)
                    if target is not None:
                        found.args.setdefault(target.endpoint, set()).update(f.name for f in form.fields)
                else:
                    found.forms.setdefault(form.key(), form)
            for link in page.links:
                parts = urlsplit(link)
                if parts.scheme or parts.netloc or not parts.path.startswith("/"):
                    continue
                if parts.path not in visited:
                    queue.append(parts.path)
    finally:
        app.request_class = old_class
        RecordingArgs.seen = None
    return found


def routes_without_url(app: Flask, found: Crawl, examples: dict[str, str]) -> list[str]:
    """GET endpoints the crawl never reached and the examples table does not name."""
    return [r.endpoint for r in get_rules(app) if r.endpoint not in found.urls and r.endpoint not in examples]


def form_values(form: Form, fill: Callable[[Field], str]) -> list[tuple[str, str]]:
    """The form as a browser would send it, blanks filled with something plausible."""
    out = []
    for f in form.fields:
        if f.kind == "file":
            continue
        if f.kind in ("checkbox", "radio") and not f.value:
            if f.options:
                out.append((f.name, f.options[0]))
            continue
        out.append((f.name, f.value if f.value else fill(f)))
    return out


def plausible(f: Field) -> str:
    name = f.name.lower()
    if f.kind == "date" or name.endswith(("_date", "date", "_start", "_end")):
        return "2026-03-02"
    if f.kind == "number" or name in ("quantity", "minutes", "amount", "unit_cost", "cost", "days", "count"):
        return "1"
    if f.kind == "email" or "email" in name:
        return "hostile.filler@example.org"
    return "Filler text"


def chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
