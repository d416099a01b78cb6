"""Google's Admin SDK Directory API for Chrome devices, through Google's own client libraries.

A service account with domain-wide delegation acts for an administrator (`subject`). The client is built from
the library's bundled discovery document, so nothing is fetched to build it; ROLLCALL_GOOGLE_API_ENDPOINT (the
library's `api_endpoint` client option) points it at a proxy, and the key file's `token_uri` names the token
endpoint. Devices come back in the API's own JSON shape (ChromeOsDevice), narrowed by a field mask to what
Rollcall keeps. Every failure is a GoogleError whose message says in plain words what is wrong and what to do,
and keeps Google's own words beside it; 429 and 5xx answers are tried again with exponential backoff.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypedDict

import google_auth_httplib2
import httplib2
from google.auth import exceptions as auth_errors
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

READ_SCOPE = "https://www.googleapis.com/auth/admin.directory.device.chromeos.readonly"
WRITE_SCOPE = "https://www.googleapis.com/auth/admin.directory.device.chromeos"
DEFAULT_CUSTOMER = "my_customer"
# chromeosdevices.list: "Value should not exceed 300"; batchChangeStatus takes at most 50 device IDs.
PAGE_SIZE = 300
BATCH_SIZE = 50
# What Rollcall keeps of a device (the field mask every list asks for).
KEPT_FIELDS = (
    "deviceId",
    "serialNumber",
    "model",
    "status",
    "orgUnitPath",
    "annotatedAssetId",
    "annotatedUser",
    "annotatedLocation",
    "notes",
    "lastSync",
    "lastEnrollmentTime",
    "autoUpdateThrough",
    "autoUpdateExpiration",
    "osVersion",
    "recentUsers(email,type)",
)
LIST_FIELDS = f"nextPageToken,chromeosdevices({','.join(KEPT_FIELDS)})"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Google also answers 403 when a quota runs out; those pass with time like a 429.
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "RATE_LIMIT_EXCEEDED"})
MAX_DELAY = 32.0

DISABLE = "CHANGE_CHROME_OS_DEVICE_STATUS_ACTION_DISABLE"
REENABLE = "CHANGE_CHROME_OS_DEVICE_STATUS_ACTION_REENABLE"
DEPROVISION = "CHANGE_CHROME_OS_DEVICE_STATUS_ACTION_DEPROVISION"
# The reason Google requires with a deprovision of a device the district no longer uses.
RETIRING = "DEPROVISION_REASON_RETIRING_DEVICE"

DELEGATION_PAGE = "Admin console → Security → Access and data control → API controls → Manage domain-wide delegation"


class RecentUser(TypedDict, total=False):
    email: str
    type: str


class ChromeOsDevice(TypedDict, total=False):
    """A Chrome device as the Directory API writes it (only the fields in KEPT_FIELDS)."""

    deviceId: str
    serialNumber: str
    model: str
    status: str
    orgUnitPath: str
    annotatedAssetId: str
    annotatedUser: str
    annotatedLocation: str
    notes: str
    lastSync: str
    lastEnrollmentTime: str
    autoUpdateThrough: str
    autoUpdateExpiration: str
    osVersion: str
    recentUsers: list[RecentUser]


class Problem:
    """What kind of thing is wrong (GoogleError.kind)."""

    NOT_CONFIGURED = "not_configured"
    KEY = "key"
    DELEGATION = "delegation"
    SCOPE = "scope"
    ADMIN = "admin"
    API_DISABLED = "api_disabled"
    UNREACHABLE = "unreachable"
    REFUSED = "refused"


class GoogleError(Exception):
    """A failure in plain words (`message`), its kind (a Problem), and what Google itself said (`google`)."""

    def __init__(self, kind: str, message: str, google: str = "") -> None:
        super().__init__(message)
        self.kind, self.message, self.google = kind, message, google

    def __str__(self) -> str:
        return f"{self.message} (Google said: {self.google})" if self.google else self.message


@dataclass(frozen=True)
class Settings:
    """Where the key is, whom the service account acts for, and how patient to be with Google."""

    credentials: str = ""
    admin_email: str = ""
    customer: str = DEFAULT_CUSTOMER
    api_endpoint: str = ""
    timeout: float = 60.0
    retries: int = 5
    backoff: float = 1.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """The GOOGLE_* settings of an app's config (app.config reads them from ROLLCALL_GOOGLE_*)."""
        return cls(
            credentials=config.get("GOOGLE_CREDENTIALS") or "",
            admin_email=config.get("GOOGLE_ADMIN_EMAIL") or "",
            customer=config.get("GOOGLE_CUSTOMER") or DEFAULT_CUSTOMER,
            api_endpoint=config.get("GOOGLE_API_ENDPOINT") or "",
            timeout=float(config.get("GOOGLE_TIMEOUT", 60.0)),
            retries=int(config.get("GOOGLE_RETRIES", 5)),
            backoff=float(config.get("GOOGLE_BACKOFF", 1.0)),
        )

    @property
    def configured(self) -> bool:
        return bool(self.credentials and self.admin_email)

    @property
    def where(self) -> str:
        return self.api_endpoint or "https://admin.googleapis.com/"


@dataclass
class Page:
    """One page of chromeosdevices.list and the token of the next (None on the last)."""

    devices: list[ChromeOsDevice]
    next_token: str | None


@dataclass
class StatusResult:
    """What batchChangeStatus said about one device: None for done, else Google's message."""

    device_id: str
    error: str | None = None


@dataclass
class Key:
    """The parts of a service-account key file that messages name."""

    client_email: str
    client_id: str
    project_id: str
    info: dict[str, Any] = field(repr=False)


def read_key(path: str) -> Key:
    """The service-account key file at path, or GoogleError(KEY) saying why it cannot be used."""
    if not path:
        raise GoogleError(Problem.NOT_CONFIGURED, "ROLLCALL_GOOGLE_CREDENTIALS is not set: name the key file.")
    try:
        with open(path, encoding="utf-8") as fh:
            info = json.load(fh)
    except OSError as exc:
        raise GoogleError(Problem.KEY, f"The key file {path} cannot be read: {exc.strerror or exc}.") from exc
    except ValueError as exc:
        raise GoogleError(Problem.KEY, f"The key file {path} is not JSON; download the key again.") from exc
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise GoogleError(
            Problem.KEY,
            f"The key file {path} is not a service account key (an OAuth client file, perhaps): create a key "
            "for the service account in the Cloud console (IAM → Service accounts → Keys) and use that file.",
        )
    missing = [k for k in ("client_email", "private_key", "token_uri") if not info.get(k)]
    if missing:
        raise GoogleError(Problem.KEY, f"The key file {path} lacks {', '.join(missing)}; download the key again.")
    return Key(info["client_email"], str(info.get("client_id", "")), str(info.get("project_id", "")), info)


def since_query(day: date) -> str:
    """The list query for devices that synced on or after day."""
    return f"sync:{day.isoformat()}.."


def _google_json(exc: HttpError) -> dict[str, Any]:
    try:
        data = json.loads(exc.content.decode("utf-8"))
    except ValueError:
        return {}
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


def _reasons(exc: HttpError) -> set[str]:
    error = _google_json(exc)
    found = {str(e.get("reason")) for e in error.get("errors") or [] if isinstance(e, dict)}
    found |= {str(d.get("reason")) for d in error.get("details") or [] if isinstance(d, dict)}
    if error.get("status"):
        found.add(str(error["status"]))
    return found


def retryable(exc: HttpError) -> bool:
    """429, 5xx, and 403s that are a quota running out."""
    status = exc.resp.status
    return status in RETRY_STATUSES or (status == 403 and bool(_reasons(exc) & RATE_REASONS))


class Directory:
    """The Directory API's Chrome devices for one customer, acting for the configured administrator.

    `write=True` asks for the read-write scope (write-back); otherwise the read-only one. `retried` counts the
    answers that were tried again, `calls` the requests made.
    """

    def __init__(self, settings: Settings, *, write: bool = False) -> None:
        self.settings = settings
        self.scope = WRITE_SCOPE if write else READ_SCOPE
        self.retried = 0
        self.calls = 0
        self._key: Key | None = None
        self._service: Any = None

    @property
    def key(self) -> Key:
        if self._key is None:
            self._key = read_key(self.settings.credentials)
        return self._key

    @property
    def service(self) -> Any:
        """The discovery-built client (built on first use; the key is read then)."""
        if self._service is None:
            settings = self.settings
            if not settings.admin_email:
                raise GoogleError(
                    Problem.NOT_CONFIGURED,
                    "ROLLCALL_GOOGLE_ADMIN_EMAIL is not set: name an administrator the service account acts for.",
                )
            key = self.key
            try:
                credentials = service_account.Credentials.from_service_account_info(
                    key.info, scopes=[self.scope], subject=settings.admin_email
                )
            except ValueError as exc:
                raise GoogleError(
                    Problem.KEY,
                    f"The private key in {settings.credentials} cannot be read; download the key again.",
                    str(exc),
                ) from exc
            http = google_auth_httplib2.AuthorizedHttp(credentials, http=httplib2.Http(timeout=settings.timeout))
            endpoint = settings.api_endpoint
            options = {"api_endpoint": endpoint if endpoint.endswith("/") else endpoint + "/"} if endpoint else None
            self._service = build(
                "admin",
                "directory_v1",
                http=http,
                static_discovery=True,
                cache_discovery=False,
                client_options=options,
            )
        return self._service

    def _devices_api(self) -> Any:
        return self.service.chromeosdevices()

    def _batch_api(self) -> Any:
        return self.service.customer().devices().chromeos()

    def _execute(self, make_request: Any) -> Any:
        """Run a request, trying 429/5xx again after 1, 2, 4 … × backoff seconds (or Google's Retry-After)."""
        settings = self.settings
        attempt = 0
        while True:
            self.calls += 1
            try:
                return make_request().execute()
            except HttpError as exc:
                if not retryable(exc) or attempt >= settings.retries:
                    raise self._http_problem(exc) from exc
                delay = _retry_after(exc)
            except auth_errors.RefreshError as exc:
                raise self._refresh_problem(exc) from exc
            except (TimeoutError, auth_errors.TransportError, httplib2.HttpLib2Error, OSError) as exc:
                if attempt >= settings.retries:
                    raise GoogleError(
                        Problem.UNREACHABLE,
                        f"Google could not be reached at {settings.where}: check this server's network, proxy "
                        "and DNS, and ROLLCALL_GOOGLE_API_ENDPOINT.",
                        str(exc) or type(exc).__name__,
                    ) from exc
                delay = None
            if delay is None:
                delay = min(settings.backoff * 2**attempt, MAX_DELAY) * (0.5 + random.random() / 2)
            attempt += 1
            self.retried += 1
            time.sleep(delay)

    def _refresh_problem(self, exc: auth_errors.RefreshError) -> GoogleError:
        data = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
        code, said = str(data.get("error", "")), str(exc.args[0] if exc.args else exc)
        admin, key = self.settings.admin_email, self.key
        if code == "unauthorized_client":
            return GoogleError(
                Problem.DELEGATION,
                f"Google will not let the service account {key.client_email} act for {admin}: domain-wide "
                f"delegation is missing, or does not grant {self.scope}. In the {DELEGATION_PAGE}, add client ID "
                f"{key.client_id or '(see the key file)'} with that scope.",
                said,
            )
        if code == "invalid_grant" and "email" in said.lower():
            return GoogleError(
                Problem.ADMIN,
                f"Google does not know {admin} (ROLLCALL_GOOGLE_ADMIN_EMAIL): name an administrator of the "
                "district's Google Workspace.",
                said,
            )
        if code == "invalid_grant":
            return GoogleError(
                Problem.KEY,
                f"Google refused the key in {self.settings.credentials}: it may have been deleted or disabled in "
                "the Cloud console; create a new key for the service account.",
                said,
            )
        return GoogleError(Problem.REFUSED, "Google refused to sign the service account in.", said)

    def _http_problem(self, exc: HttpError) -> GoogleError:
        status, reasons, said = exc.resp.status, _reasons(exc), str(exc.reason or "")
        if status == 403 and reasons & {"accessNotConfigured", "SERVICE_DISABLED"}:
            project = self.key.project_id
            return GoogleError(
                Problem.API_DISABLED,
                f"The Admin SDK API is turned off for the Cloud project{' ' + project if project else ''} of the "
                "service account: turn it on (Cloud console → APIs & Services → Library → Admin SDK API), wait a "
                "few minutes and test again.",
                said,
            )
        if status == 403 and reasons & {"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}:
            return GoogleError(
                Problem.SCOPE,
                f"The scope {self.scope} is not granted: add it to client ID {self.key.client_id} in the "
                f"{DELEGATION_PAGE}.",
                said,
            )
        if status == 403:
            return GoogleError(
                Problem.ADMIN,
                f"Google refused {self.settings.admin_email} access to Chrome devices: that account must be an "
                "administrator allowed to manage Chrome devices.",
                said,
            )
        if status in (400, 404) and "customer" in said.lower():
            return GoogleError(
                Problem.REFUSED,
                f"Google does not know the customer {self.settings.customer} (ROLLCALL_GOOGLE_CUSTOMER); "
                "leave it unset for the administrator's own (my_customer).",
                said,
            )
        if status in RETRY_STATUSES:
            return GoogleError(
                Problem.UNREACHABLE,
                f"Google kept answering {status} after {self.settings.retries} tries; it will be tried again.",
                said,
            )
        return GoogleError(Problem.REFUSED, f"Google refused the request ({status}).", said)

    # --- reading ---------------------------------------------------------------------------------------------

    def page(self, *, query: str | None = None, token: str | None = None, size: int = PAGE_SIZE) -> Page:
        """One page of the customer's Chrome devices (FULL projection, narrowed to KEPT_FIELDS)."""
        params: dict[str, Any] = {
            "customerId": self.settings.customer,
            "projection": "FULL",
            "maxResults": min(size, PAGE_SIZE),
            "fields": LIST_FIELDS,
        }
        if query:
            params["query"] = query
        if token:
            params["pageToken"] = token
        answer = self._execute(lambda: self._devices_api().list(**params)) or {}
        return Page(list(answer.get("chromeosdevices") or []), answer.get("nextPageToken") or None)

    def pages(self, *, query: str | None = None, token: str | None = None) -> Iterator[Page]:
        """Every page in turn, from token (a page token saved earlier) or the first."""
        while True:
            page = self.page(query=query, token=token)
            yield page
            if not page.next_token:
                return
            token = page.next_token

    def devices(self, *, query: str | None = None) -> Iterator[ChromeOsDevice]:
        for page in self.pages(query=query):
            yield from page.devices

    # --- writing (write=True) --------------------------------------------------------------------------------

    def change_status(self, device_ids: Sequence[str], action: str, *, reason: str | None = None) -> list[StatusResult]:
        """Disable, re-enable or deprovision devices, BATCH_SIZE a call; one result per device."""
        results: list[StatusResult] = []
        for start in range(0, len(device_ids), BATCH_SIZE):
            body: dict[str, Any] = {
                "deviceIds": list(device_ids[start : start + BATCH_SIZE]),
                "changeChromeOsDeviceStatusAction": action,
            }
            if action == DEPROVISION:
                body["deprovisionReason"] = reason or RETIRING
            answer = self._execute(lambda body=body: self._batch_api().batchChangeStatus(
                customerId=self.settings.customer, body=body
            ))  # fmt: skip
            for item in (answer or {}).get("changeChromeOsDeviceStatusResults") or []:
                error = item.get("error") or {}
                results.append(StatusResult(str(item.get("deviceId", "")), error.get("message") or None))
        return results

    def move(self, device_ids: Sequence[str], org_unit: str) -> None:
        """Move devices to an org unit (by its path), BATCH_SIZE a call."""
        for start in range(0, len(device_ids), BATCH_SIZE):
            body = {"deviceIds": list(device_ids[start : start + BATCH_SIZE])}
            self._execute(
                lambda body=body: self._devices_api().moveDevicesToOu(
                    customerId=self.settings.customer, orgUnitPath=org_unit, body=body
                )
            )

    def annotate(self, device_id: str, fields: Mapping[str, str]) -> ChromeOsDevice:
        """Set annotatedAssetId / annotatedUser / annotatedLocation (the keys given) on one device."""
        body = {k: v for k, v in fields.items() if k in ("annotatedAssetId", "annotatedUser", "annotatedLocation")}
        return self._execute(
            lambda: self._devices_api().patch(
                customerId=self.settings.customer, deviceId=device_id, body=body, fields=",".join(sorted(body))
            )
        )


def _retry_after(exc: HttpError) -> float | None:
    value = exc.resp.get("retry-after") if hasattr(exc.resp, "get") else None
    try:
        return min(float(value), MAX_DELAY) if value is not None else None
    except ValueError:
        return None


@dataclass
class Check:
    """The connection test's answer: ok, the words to show, and what kind of problem (None when ok)."""

    ok: bool
    message: str
    kind: str | None = None
    google: str = ""
    write_ok: bool | None = None
    notes: list[str] = field(default_factory=list)


def check(settings: Settings, *, write: bool = False) -> Check:
    """Test the connection as a sync would: the key, a token for the read scope, one device from the list; with
    `write` (write-back switched on), a token for the write scope too. Never raises for Google's answers."""
    if not settings.configured:
        missing = [n for n, v in (("ROLLCALL_GOOGLE_CREDENTIALS", settings.credentials),
                                  ("ROLLCALL_GOOGLE_ADMIN_EMAIL", settings.admin_email)) if not v]  # fmt: skip
        return Check(False, f"Google sync is not set up: set {' and '.join(missing)}.", Problem.NOT_CONFIGURED)
    reader = Directory(settings)
    try:
        page = reader.page(size=1)
    except GoogleError as exc:
        return Check(False, exc.message, exc.kind, exc.google)
    key = reader.key
    seen = "a device" if page.devices else "no devices yet"
    result = Check(
        True,
        f"Connected: {key.client_email} reads Chrome devices as {settings.admin_email} for customer "
        f"{settings.customer} ({seen}).",
    )
    if write:
        try:
            writer = Directory(settings, write=True)
            writer.page(size=1)
            result.write_ok = True
        except GoogleError as exc:
            kind = Problem.SCOPE if exc.kind == Problem.DELEGATION else exc.kind
            message = (
                f"Reading works, but write-back is switched on and the scope {WRITE_SCOPE} is not granted: add it "
                f"to client ID {key.client_id} in the {DELEGATION_PAGE}."
                if kind == Problem.SCOPE
                else exc.message
            )
            return Check(False, message, kind, exc.google, write_ok=False)
    return result
