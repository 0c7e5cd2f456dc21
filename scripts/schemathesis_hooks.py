"""Schemathesis hooks for scripts/schemathesis.sh: a device of the test
account, and real data for the operations that need some.

Authentication. The operations whose document names the `bearer` scheme (and
only those: sign-up, sign-in, refresh and the service paths are public) carry
the access token of a device signed in to the account the script created
(USHER_URL, USHER_EMAIL, USHER_PASSWORD). Operations under test sign that
device out (DELETE /v1/sessions/current, sign-out-all with `include_current`,
a password change): Schemathesis then gets `401 session_revoked`, asks this
provider again (its `retry_on`, 401 by default) and replays the request with
the new token. A public operation's 401 (a wrong password, a used refresh
token) is its answer, not a sign of a stale token, so it never asks.

Real data. Fuzzed ids are never the account's, and fuzzed passwords never its
password, so on their own the path-id operations and the password-confirmed
ones would only ever answer 404 or 403. For a share of the positive cases
(a third, picked by a hash of the generated case so that one case is always
treated alike, and every positive case of an operation until it has been
answered 2xx once), `before_call` swaps in what the server will accept: the
id of a stream, profile, device or alert it makes for the purpose just
before, the account's email and password, a fresh refresh token or sign-up
address. Negative cases are sent as generated. Only the swapped members
change; the rest of the case stays as fuzzed.

`after_call` follows what the run changed: a password change that succeeded
(the fuzzer then knows the password) becomes the password the hooks sign in
with. Sign-ins send the device proof of the first one, as a player app does,
so the fuzzer's own wrong passwords from the same address never hold them
back.
"""

import itertools
import json
import os
import zlib
from collections import Counter

import requests
import schemathesis

BASE = os.environ["USHER_URL"]
EMAIL = os.environ["USHER_EMAIL"]
TIMEOUT = 30
# A passphrase the sign-up's password screening accepts.
NEW_ACCOUNT_PASSWORD = "marmalade lighthouse quarrel 1987"


def _bearer_operations():
    """The operation ids whose security names the bearer scheme."""
    document = requests.get(f"{BASE}/openapi.json", timeout=TIMEOUT).json()
    ids = set()
    for item in document["paths"].values():
        for operation in item.values():
            schemes = [name for requirement in operation.get("security", []) for name in requirement]
            if "bearer" in schemes:
                ids.add(operation["operationId"])
    return sorted(ids)


BEARER_OPERATIONS = _bearer_operations()


class Account:
    """What the hooks know of the test account; the fuzzer may change its password."""

    def __init__(self):
        self.password = os.environ["USHER_PASSWORD"]
        self.proof = None

    def sign_in(self, name="Schemathesis", device_type="desktop"):
        body = {
            "email": EMAIL,
            "password": self.password,
            "device": {"name": name, "type": device_type},
        }
        if self.proof:
            body["device_proof"] = self.proof
        answer = requests.post(f"{BASE}/v1/sessions", json=body, timeout=TIMEOUT)
        answer.raise_for_status()
        tokens = answer.json()
        self.proof = tokens.get("device_proof") or self.proof
        return tokens


ACCOUNT = Account()


@schemathesis.auth().apply_to(operation_id=BEARER_OPERATIONS)
class UsherDevice:
    def get(self, case, context):
        tokens = ACCOUNT.sign_in()
        SEEDS.callers.add(tokens["session_id"])
        return tokens["access_token"]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


def _generated(case):
    """The generated parts of a case, as text that is the same every run."""
    parts = {"path": case.path_parameters, "query": case.query, "body": case.body}
    return json.dumps(parts, sort_keys=True, default=repr).encode()


class Seeds:
    """Makes the data a case needs, through the API, on a helper device."""

    def __init__(self):
        self.helper = None
        # Every session the auth provider signed in, so no alert about one of
        # them is used to sign a device out (that would be the caller itself).
        self.callers = set()
        self.successes = Counter()
        self.decisions = {}
        self.addresses = itertools.count(1)
        self.alert_types = iter(["tv", "phone", "tablet", "console", "streaming_stick", "other"])

    # -- the helper device and the API --------------------------------------

    def call(self, method, path, body=None, token=None):
        """`method path` as the helper (or `token`'s device); the helper signs in again if it was signed out."""
        for _ in range(2):
            bearer = token or self._helper_token()
            answer = requests.request(
                method,
                f"{BASE}{path}",
                json=body,
                headers={"Authorization": f"Bearer {bearer}"},
                timeout=TIMEOUT,
            )
            if answer.status_code != 401 or token is not None:
                return answer
            self.helper = None
        return answer

    def _helper_token(self):
        if self.helper is None:
            self.helper = ACCOUNT.sign_in("Schemathesis helper")
        return self.helper["access_token"]

    def helper_session(self):
        self._helper_token()
        return self.helper["session_id"]

    # -- the things cases need ---------------------------------------------

    def profiles(self):
        answer = self.call("GET", "/v1/profiles")
        return answer.json() if answer.ok else {"profiles": [], "require_pin_to_add": False}

    def default_profile(self):
        listed = self.profiles()["profiles"]
        return next((p["profile_id"] for p in listed if p["default"]), None)

    def spare_profile(self, locked=False):
        """A profile that is not the default (locked, if asked and there is one), made if need be."""
        others = [p for p in self.profiles()["profiles"] if not p["default"]]
        for profile in others:
            if profile["locked"] == locked:
                return profile["profile_id"]
        if not locked and others:
            unlocked = self.call(
                "DELETE", f"/v1/profiles/{others[0]['profile_id']}/pin", {"password": ACCOUNT.password}
            )
            if unlocked.ok:
                return others[0]["profile_id"]
        created = self.call("POST", "/v1/profiles", {"name": "Seeded"})
        if not created.ok:
            return others[0]["profile_id"] if others else None
        profile = created.json()["profile_id"]
        if locked:
            self.call("PUT", f"/v1/profiles/{profile}/pin", {"password": ACCOUNT.password, "pin": "2468"})
        return profile

    def room_for_a_profile(self):
        """Under the profile limit, and adding one needs no PIN."""
        listed = self.profiles()
        if listed["require_pin_to_add"]:
            self.call(
                "PUT",
                "/v1/profiles/settings",
                {"password": ACCOUNT.password, "require_pin_to_add": False},
            )
        others = [p for p in listed["profiles"] if not p["default"]]
        if len(listed["profiles"]) >= 5 and others:
            self.call("DELETE", f"/v1/profiles/{others[0]['profile_id']}", {"password": ACCOUNT.password})

    def stream_of(self, authorization):
        """A stream of the device `authorization` belongs to, started now."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        body = {"title": "Seeded"}
        profile = self.default_profile()
        if profile:
            body["profile_id"] = profile
        answer = self.call("POST", "/v1/streams", body, token=authorization[len("Bearer ") :])
        return answer.json()["stream_id"] if answer.status_code == 201 else None

    def open_alert(self, not_about_callers=False):
        """An open alert (about another device than the caller's, if asked), raised if need be."""
        for attempt in range(2):
            answer = self.call("GET", "/v1/alerts")
            alerts = answer.json()["alerts"] if answer.ok else []
            for alert in alerts:
                about = alert["device"].get("session_id")
                if not_about_callers and (about in self.callers or about == self.helper_session()):
                    continue
                return alert["alert_id"]
            # A sign-in from a kind of device the account has not used raises one.
            device_type = next(self.alert_types, None)
            if device_type is None:
                return None
            ACCOUNT.sign_in("Seeded alert", device_type)
        return None

    # -- cases ---------------------------------------------------------------

    def should_fill(self, case):
        if case.meta is None or case.meta.generation.mode.is_negative:
            return False
        if case.id not in self.decisions:
            label = case.operation.label
            scarce = label in SCARCE
            wanted = self.successes[label] == 0 or (
                not scarce and zlib.crc32(_generated(case)) % 3 == 0
            )
            self.decisions[case.id] = wanted
        return self.decisions[case.id]

    def fill(self, case):
        fill = FILLS.get(case.operation.label)
        if fill is not None and self.should_fill(case):
            fill(self, case)

    def note(self, case, response):
        label = case.operation.label
        if 200 <= response.status_code < 300:
            self.successes[label] += 1
            if label == "POST /v1/account/password" and isinstance(case.body, dict):
                ACCOUNT.password = case.body["new_password"]


def _set(container, name, value):
    if isinstance(container, dict) and value is not None and name in container:
        container[name] = value


def _sign_up(seeds, case):
    if isinstance(case.body, dict):
        case.body.pop("plan", None)
        _set(case.body, "email", f"fuzzed-{next(seeds.addresses)}@example.com")
        _set(case.body, "password", NEW_ACCOUNT_PASSWORD)


def _sign_in(seeds, case):
    _set(case.body, "email", EMAIL)
    _set(case.body, "password", ACCOUNT.password)


def _refresh(seeds, case):
    _set(case.body, "refresh_token", ACCOUNT.sign_in("Seeded refresh")["refresh_token"])


def _password(member):
    def fill(seeds, case):
        _set(case.body, member, ACCOUNT.password)

    return fill


def _rename_device(seeds, case):
    _set(case.path_parameters, "session_id", seeds.helper_session())


def _sign_out_device(seeds, case):
    _set(case.path_parameters, "session_id", ACCOUNT.sign_in("Seeded sign-out")["session_id"])


def _start_stream(seeds, case):
    _set(case.body, "profile_id", seeds.default_profile())


def _own_stream(seeds, case):
    _set(case.path_parameters, "stream_id", seeds.stream_of(case.headers.get("Authorization")))


def _switch_profile(seeds, case):
    _set(case.body, "profile_id", seeds.spare_profile())


def _create_profile(seeds, case):
    seeds.room_for_a_profile()


def _spare_profile(locked=False, password=False):
    def fill(seeds, case):
        _set(case.path_parameters, "profile_id", seeds.spare_profile(locked))
        if password:
            _set(case.body, "password", ACCOUNT.password)

    return fill


def _dismiss_alert(seeds, case):
    _set(case.path_parameters, "alert_id", seeds.open_alert())


def _sign_out_alerted(seeds, case):
    _set(case.path_parameters, "alert_id", seeds.open_alert(not_about_callers=True))


FILLS = {
    "POST /v1/accounts": _sign_up,
    "POST /v1/sessions": _sign_in,
    "POST /v1/sessions/refresh": _refresh,
    "POST /v1/account/password": _password("current_password"),
    "PATCH /v1/devices/{session_id}": _rename_device,
    "DELETE /v1/devices/{session_id}": _sign_out_device,
    "POST /v1/streams": _start_stream,
    "POST /v1/streams/{stream_id}/heartbeat": _own_stream,
    "DELETE /v1/streams/{stream_id}": _own_stream,
    "POST /v1/sessions/current/profile": _switch_profile,
    "POST /v1/profiles": _create_profile,
    "PATCH /v1/profiles/{profile_id}": _spare_profile(),
    "DELETE /v1/profiles/{profile_id}": _spare_profile(),
    "PUT /v1/profiles/{profile_id}/pin": _spare_profile(password=True),
    "DELETE /v1/profiles/{profile_id}/pin": _spare_profile(locked=True, password=True),
    "PUT /v1/profiles/settings": _password("password"),
    "POST /v1/alerts/{alert_id}/dismiss": _dismiss_alert,
    "POST /v1/alerts/{alert_id}/sign-out-device": _sign_out_alerted,
}
# Alerts can be raised only so often (one per kind of device the account has
# not used): these get real ids until they have been answered 2xx once.
SCARCE = {"POST /v1/alerts/{alert_id}/dismiss", "POST /v1/alerts/{alert_id}/sign-out-device"}

SEEDS = Seeds()


@schemathesis.hook
def before_call(context, case, kwargs):
    SEEDS.fill(case)


@schemathesis.hook
def after_call(context, case, response):
    SEEDS.note(case, response)
