"""Schemathesis hooks for scripts/schemathesis.sh: a device of the test account.

Every request carries the bearer token of a device signed in to the account
the script created (USHER_URL, USHER_EMAIL, USHER_PASSWORD). Operations under
test sign that device out (DELETE /v1/sessions/current, sign-out-all with
`include_current`): Schemathesis then gets `401 session_revoked`, asks this
provider again (its `retry_on`, 401 by default) and replays the request with
the new token, so one sign-out does not turn the rest of the run into 401s.

Sign-ins send the device proof of the first one, as a player app does, so the
fuzzer's own wrong passwords from the same address never hold them back.
"""

import os

import requests
import schemathesis

BASE = os.environ["USHER_URL"]
EMAIL = os.environ["USHER_EMAIL"]
PASSWORD = os.environ["USHER_PASSWORD"]


@schemathesis.auth()
class UsherDevice:
    def __init__(self):
        self.proof = None

    def get(self, case, context):
        body = {
            "email": EMAIL,
            "password": PASSWORD,
            "device": {"name": "Schemathesis", "type": "desktop"},
        }
        if self.proof:
            body["device_proof"] = self.proof
        answer = requests.post(f"{BASE}/v1/sessions", json=body, timeout=30)
        answer.raise_for_status()
        tokens = answer.json()
        self.proof = tokens.get("device_proof") or self.proof
        return tokens["access_token"]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
