"""A local stand-in for Google's Admin SDK Directory API (Chrome devices) and its OAuth token endpoint.

It speaks the documented REST protocol, so the real client libraries (google-api-python-client, google-auth) run
against it unchanged: the service-account key file's `token_uri` and the client's `api_endpoint` name it. The
token endpoint takes the JWT-bearer grant, checks the assertion's signature with the service account's public key,
its audience, subject and scopes against the domain-wide delegation the test set up; the device routes check the
token, page with pageToken, apply `fields` masks and the `sync:` query, record every write, and answer 429/500 on
demand. Run it with `with FakeDirectory() as google: …` (a WSGI server on a free port in a thread).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import jwt

from tests.fake_directory.masks import apply_mask, parse_mask

READ = "https://www.googleapis.com/auth/admin.directory.device.chromeos.readonly"
WRITE = "https://www.googleapis.com/auth/admin.directory.device.chromeos"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# google-auth addresses the assertion to Google's token endpoint whatever the key file's token_uri says.
AUDIENCES = ["https://oauth2.googleapis.com/token"]
PREFIX = "/admin/directory/v1/customer/"
CUSTOMER_ID = "C01abcdef"
MAX_RESULTS = 300
STATUS_AFTER = {
    "CHANGE_CHROME_OS_DEVICE_STATUS_ACTION_DISABLE": "DISABLED",
    "CHANGE_CHROME_OS_DEVICE_STATUS_ACTION_REENABLE": "ACTIVE",
    "CHANGE_CHROME_OS_DEVICE_STATUS_ACTION_DEPROVISION": "DEPROVISIONED",
}


@dataclass
class ServiceAccount:
    """A service account with a key made for this test: `key_file(dir)` writes the JSON Google would give."""

    email: str
    client_id: str
    key_id: str
    private_pem: str
    public_pem: str
    project_id: str = "rollcall-test"

    @classmethod
    def generate(cls, name: str = "rollcall-sync") -> ServiceAccount:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        public = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        return cls(
            email=f"{name}@rollcall-test.iam.gserviceaccount.com",
            client_id=str(secrets.randbelow(10**20)),
            key_id=secrets.token_hex(20),
            private_pem=private,
            public_pem=public,
        )

    def key_info(self, token_uri: str) -> dict[str, Any]:
        return {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": self.key_id,
            "private_key": self.private_pem,
            "client_email": self.email,
            "client_id": self.client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
        }


@dataclass
class Write:
    """A write call as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any]
    subject: str


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]


def _error(status: int, message: str, reason: str, api_status: str, details: list | None = None) -> tuple:
    body: dict[str, Any] = {
        "code": status,
        "message": message,
        "errors": [{"message": message, "domain": "global", "reason": reason}],
        "status": api_status,
    }
    if details:
        body["details"] = details
    return status, {"error": body}


def _encode_token(offset: int, query: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([offset, query]).encode()).decode().rstrip("=")


def _decode_token(token: str) -> tuple[int, str]:
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    offset, query = json.loads(raw)
    return int(offset), str(query)


def _matches(device: dict[str, Any], query: str) -> bool:
    """The few query operators Rollcall uses: `sync:FROM..`, `sync:FROM..TO`, `sync:DAY` (dates, UTC)."""
    for term in query.split():
        name, _, value = term.partition(":")
        if name != "sync":
            raise ValueError(term)
        synced = (device.get("lastSync") or "")[:10]
        low, dots, high = value.partition("..")
        if not dots:
            high = low
        if not synced or (low and synced < low) or (high and synced > high):
            return False
    return True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


class _Server(WSGIServer):
    # Each request on its own thread: a slow client never holds up the test's other calls.
    daemon_threads = True

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(target=self._serve_one, args=(request, client_address), daemon=True)
        thread.start()

    def _serve_one(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)


@dataclass
class FakeDirectory:
    """The fake's state: devices (in the API's JSON shape, in listing order), who may sign in for whom, the
    switches a test flips (api_enabled, admins), injected failures, and every request and write received."""

    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    accounts: dict[str, ServiceAccount] = field(default_factory=dict)
    # Domain-wide delegation: client ID → scopes granted.
    delegation: dict[str, set[str]] = field(default_factory=dict)
    admins: set[str] = field(default_factory=set)
    users: set[str] = field(default_factory=set)
    api_enabled: bool = True
    requests: list[Request] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    token_grants: list[dict[str, Any]] = field(default_factory=list)
    _tokens: dict[str, tuple[str, set[str]]] = field(default_factory=dict)
    # [status, path prefix, requests to let through first, times to fail]
    _failures: list[list[Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: Any = None
    _thread: threading.Thread | None = None
    url: str = ""

    # --- set-up ---------------------------------------------------------------------------------------------

    def __enter__(self) -> FakeDirectory:
        self._server = make_server("127.0.0.1", 0, self, server_class=_Server, handler_class=_Quiet)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def service_account(
        self, folder: Path, *, admin: str = "it-admin@mvusd.example", scopes: Iterable[str] = (READ, WRITE)
    ) -> tuple[ServiceAccount, Path]:
        """A new service account delegated `scopes` for the customer, `admin` an administrator; its key file."""
        account = ServiceAccount.generate()
        self.accounts[account.email] = account
        self.delegation[account.client_id] = set(scopes)
        self.admins.add(admin)
        path = Path(folder) / f"key-{account.key_id[:8]}.json"
        path.write_text(json.dumps(account.key_info(self.token_uri)))
        return account, path

    def add_devices(self, devices: Iterable[dict[str, Any]]) -> None:
        for device in devices:
            self.devices[device["deviceId"]] = device

    def fail_next(self, status: int, times: int = 1, *, path: str = PREFIX, after: int = 0) -> None:
        """Answer `times` requests whose path starts with `path` with `status` (429, 500, 503 …), once `after`
        such requests have been made."""
        with self._lock:
            self._failures.append([status, path, after, times])

    def lists(self) -> list[Request]:
        """The list requests received, in order."""
        return [r for r in self.requests if r.method == "GET" and r.path.endswith("/devices/chromeos")]

    # --- WSGI -----------------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items()}
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        with self._lock:
            self.requests.append(Request(method, path, query))
            failure = self._failure(path)
        if failure is not None:
            status, body = _error(failure[0], "Injected failure.", "backendError", "UNAVAILABLE")
        elif path == "/token" and method == "POST":
            status, body = self._token(raw)
        elif path.startswith(PREFIX):
            status, body = self._api(method, path, query, raw, environ.get("HTTP_AUTHORIZATION", ""))
        else:
            status, body = 404, {"error": {"code": 404, "message": "Not Found"}}
        data = json.dumps(body).encode()
        start_response(
            f"{status} {'OK' if status == 200 else 'Error'}",
            [("Content-Type", "application/json; charset=UTF-8"), ("Content-Length", str(len(data)))],
        )
        return iter([data])

    def _failure(self, path: str) -> tuple[int, str] | None:
        firing = None
        for entry in self._failures:
            if not path.startswith(entry[1]):
                continue
            if entry[2] > 0:
                entry[2] -= 1
            elif firing is None:
                firing = entry
        if firing is None:
            return None
        firing[3] -= 1
        if firing[3] <= 0:
            self._failures.remove(firing)
        return firing[0], firing[1]

    def _token(self, raw: bytes) -> tuple[int, dict[str, Any]]:
        form = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
        if form.get("grant_type") != JWT_GRANT:
            return 400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type."}
        assertion = form.get("assertion", "")
        try:
            header = json.loads(base64.urlsafe_b64decode(assertion.split(".")[0] + "=="))
            unverified = jwt.decode(assertion, verify=False)
            account = self.accounts[unverified["iss"]]
            claims = jwt.decode(assertion, certs={account.key_id: account.public_pem}, audience=AUDIENCES)
        except (KeyError, ValueError, IndexError):
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        self.token_grants.append({"header": header, **claims})
        subject, scopes = claims.get("sub", ""), set(str(claims.get("scope", "")).split())
        granted = self.delegation.get(account.client_id, set())
        if subject and subject not in self.admins | self.users:
            return 400, {"error": "invalid_grant", "error_description": "Invalid email or User ID"}
        if not subject or not scopes or not scopes <= granted:
            return 401, {
                "error": "unauthorized_client",
                "error_description": "Client is unauthorized to retrieve access tokens using this method, or "
                "client not authorized for any of the scopes requested.",
            }
        token = secrets.token_urlsafe(24)
        self._tokens[token] = (subject, scopes)
        return 200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}

    def _api(self, method: str, path: str, query: dict[str, str], raw: bytes, auth: str) -> tuple:
        found = self._tokens.get(auth.removeprefix("Bearer ").strip())
        if found is None:
            return _error(401, "Request had invalid authentication credentials.", "authError", "UNAUTHENTICATED")
        subject, scopes = found
        if not self.api_enabled:
            return _error(
                403,
                "Admin SDK API has not been used in project 1234 before or it is disabled. Enable it by visiting "
                "https://console.developers.google.com/apis/api/admin.googleapis.com/overview?project=1234 then "
                "retry.",
                "accessNotConfigured",
                "PERMISSION_DENIED",
                [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED"}],
            )
        customer, _, rest = path.removeprefix(PREFIX).partition("/")
        if customer not in ("my_customer", CUSTOMER_ID):
            return _error(400, "Bad Request", "badRequest", "INVALID_ARGUMENT")
        if subject not in self.admins:
            return _error(403, "Not Authorized to access this resource/api", "forbidden", "PERMISSION_DENIED")
        needed = {READ, WRITE} if method == "GET" else {WRITE}
        if not scopes & needed:
            return _error(
                403,
                "Request had insufficient authentication scopes.",
                "insufficientPermissions",
                "PERMISSION_DENIED",
                [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}],
            )
        body = json.loads(raw) if raw else {}
        return self._route(method, rest, query, body, subject)

    def _route(self, method: str, rest: str, query: dict[str, str], body: dict, subject: str) -> tuple:
        if rest == "devices/chromeos" and method == "GET":
            return self._list(query)
        if rest == "devices/chromeos:batchChangeStatus" and method == "POST":
            return self._write(method, rest, query, body, subject, self._batch_status)
        if rest == "devices/chromeos/moveDevicesToOu" and method == "POST":
            return self._write(method, rest, query, body, subject, self._move)
        device_id = rest.removeprefix("devices/chromeos/")
        if device_id in self.devices and method == "GET":
            return 200, apply_mask(self.devices[device_id], parse_mask(query.get("fields", "")))
        if device_id in self.devices and method in ("PATCH", "PUT"):
            return self._write(method, rest, query, body, subject, lambda q, b: self._patch(device_id, q, b))
        return _error(404, "Resource Not Found: deviceId", "notFound", "NOT_FOUND")

    def _list(self, query: dict[str, str]) -> tuple:
        size = int(query.get("maxResults") or 100)
        if not 1 <= size <= MAX_RESULTS:
            return _error(400, "Invalid value for maxResults.", "invalid", "INVALID_ARGUMENT")
        search = query.get("query", "")
        offset = 0
        if query.get("pageToken"):
            try:
                offset, asked = _decode_token(query["pageToken"])
            except ValueError:
                return _error(400, "Invalid page token.", "invalid", "INVALID_ARGUMENT")
            if asked != search:
                return _error(400, "Invalid page token.", "invalid", "INVALID_ARGUMENT")
        try:
            matching = [d for d in self.devices.values() if not search or _matches(d, search)]
        except ValueError:
            return _error(400, "Invalid Input: query", "invalid", "INVALID_ARGUMENT")
        chunk = matching[offset : offset + size]
        answer: dict[str, Any] = {"kind": "admin#directory#chromeosdevices", "etag": '"x"', "chromeosdevices": chunk}
        if offset + size < len(matching):
            answer["nextPageToken"] = _encode_token(offset + size, search)
        mask = parse_mask(query.get("fields", ""))
        return 200, apply_mask(answer, mask)

    def _write(self, method: str, rest: str, query: dict[str, str], body: dict, subject: str, do: Any) -> tuple:
        with self._lock:
            self.writes.append(Write(method, rest, dict(query), body, subject))
        return do(query, body)

    def _batch_status(self, query: dict[str, str], body: dict) -> tuple:
        ids = body.get("deviceIds") or []
        action = body.get("changeChromeOsDeviceStatusAction")
        if not ids or len(ids) > 50 or action not in STATUS_AFTER:
            return _error(400, "Invalid Input", "invalid", "INVALID_ARGUMENT")
        if action.endswith("DEPROVISION") and not body.get("deprovisionReason"):
            return _error(400, "Deprovision reason is required.", "invalid", "INVALID_ARGUMENT")
        results = []
        for device_id in ids:
            device = self.devices.get(device_id)
            if device is None:
                results.append({"deviceId": device_id, "error": {"code": 5, "message": "Device not found."}})
                continue
            device["status"] = STATUS_AFTER[action]
            results.append({"deviceId": device_id, "response": {}})
        return 200, {"changeChromeOsDeviceStatusResults": results}

    def _move(self, query: dict[str, str], body: dict) -> tuple:
        ou = query.get("orgUnitPath", "")
        ids = body.get("deviceIds") or []
        if not ou or not ids:
            return _error(400, "Invalid Input", "invalid", "INVALID_ARGUMENT")
        for device_id in ids:
            if device_id in self.devices:
                self.devices[device_id]["orgUnitPath"] = ou if ou.startswith("/") else "/" + ou
        return 200, {}

    def _patch(self, device_id: str, query: dict[str, str], body: dict) -> tuple:
        device = self.devices[device_id]
        for key in ("annotatedAssetId", "annotatedUser", "annotatedLocation", "notes", "orgUnitPath"):
            if key in body:
                device[key] = body[key]
        return 200, apply_mask(device, parse_mask(query.get("fields", "")))


def device(n: int, *, synced: datetime | None = None, **fields: Any) -> dict[str, Any]:
    """A believable Chrome device, numbered n, with fields Rollcall keeps and some it does not."""
    synced = synced or datetime(2026, 1, 1, tzinfo=UTC)
    record: dict[str, Any] = {
        "kind": "admin#directory#chromeosdevice",
        "etag": f'"e{n}"',
        "deviceId": f"dev-{n:06d}",
        "serialNumber": f"FAKE{n:06d}",
        "model": "Acer Chromebook 311 (C722)",
        "status": "ACTIVE",
        "orgUnitPath": "/Students/LHS",
        "annotatedAssetId": f"LHS-{n:05d}",
        "annotatedUser": "",
        "annotatedLocation": "",
        "notes": "",
        "lastSync": synced.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "autoUpdateThrough": "2030-06-30T00:00:00Z",
        "autoUpdateExpiration": "1916956800000",
        "osVersion": "128.0.6613.133",
        "recentUsers": [{"type": "USER_TYPE_MANAGED", "email": f"student{n}@mvusd.example"}],
        "macAddress": f"00:11:22:{n % 256:02x}:00:01",
        "cpuStatusReports": [{"reportTime": "2026-01-01T00:00:00Z", "cpuUtilizationPercentageInfo": [3]}],
        "firmwareVersion": "Google_Sona.1234",
    }
    record.update(fields)
    return record
