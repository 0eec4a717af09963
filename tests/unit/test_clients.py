"""tailor.clients: stock boto3 Personalize clients that sign for API Gateway (`execute-api`).

Requests are captured in a `before-send` handler registered after the signing hook, which answers them itself, so
no network is used. Every signature is recomputed independently with botocore.auth.SigV4Auth over the captured
method, URL, headers and body, so a change to any of them after signing would fail the test.
"""

from __future__ import annotations

import datetime
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

import tailor
from tailor import clients

REGION = "eu-west-1"
ENDPOINT = "https://abc123.execute-api.eu-west-1.amazonaws.com/dev/"
ACCESS_KEY, SECRET_KEY, TOKEN = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token-example"
SERVICES = ("personalize", "personalize-runtime", "personalize-events")
AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<scope>\d{8}/[^,]+), "
                  r"SignedHeaders=(?P<signed>[^,]+), Signature=(?P<signature>[0-9a-f]{64})")


@dataclass
class Sent:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes

    @property
    def auth(self) -> re.Match[str]:
        match = AUTH.fullmatch(self.headers["Authorization"])
        assert match, self.headers["Authorization"]
        return match

    @property
    def scope(self) -> str:
        return self.auth["scope"]


class _RawBody:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._data


class Capture:
    """A `before-send` handler that records each request and answers it (500 for the first `failures`)."""

    def __init__(self, failures: int = 0, body: bytes = b"{}") -> None:
        self.sent: list[Sent] = []
        self.failures = failures
        self.body = body

    def __call__(self, request: Any, **kwargs: Any) -> AWSResponse:
        body = request.body or b""
        self.sent.append(Sent(request.method, request.url, _headers(request.headers),
                              body.encode() if isinstance(body, str) else bytes(body)))
        status = 500 if len(self.sent) <= self.failures else 200
        return AWSResponse(request.url, status, {}, _RawBody(self.body))  # type: ignore[arg-type]

    def on(self, client: Any) -> Capture:
        client.meta.events.register("before-send", self)
        return self


def _headers(headers: Any) -> dict[str, str]:
    return {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in headers.items()}


def expected_auth(sent: Sent, credentials: Credentials, service: str = "execute-api",
                  region: str = REGION) -> tuple[str, str]:
    """(SignedHeaders, Signature) for `sent` as SigV4 for `service` computes them at its X-Amz-Date, over the headers
    its Authorization names (as API Gateway does: botocore adds amz-sdk-* and Content-Length after signing)."""
    signed_names = set(AUTH.fullmatch(sent.headers["Authorization"])["signed"].split(";"))  # type: ignore[index]
    headers = {k: v for k, v in sent.headers.items() if k.lower() in signed_names}
    request = AWSRequest(method=sent.method, url=sent.url, data=sent.body, headers=headers)
    request.context["timestamp"] = sent.headers["X-Amz-Date"]
    signer = SigV4Auth(credentials, service, region)
    signed = signer.signed_headers(signer.headers_to_sign(request))
    return signed, signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)


def assert_signed_for_execute_api(sent: Sent, credentials: Credentials, region: str = REGION) -> None:
    assert sent.scope.endswith(f"/{region}/execute-api/aws4_request"), sent.scope
    signed = set(sent.auth["signed"].split(";"))
    assert {"content-type", "host", "x-amz-date"} <= signed
    assert ("x-amz-target" in signed) == ("X-Amz-Target" in sent.headers)
    assert ("x-amz-security-token" in signed) == (credentials.token is not None)
    assert sent.auth["key"] == credentials.access_key
    assert (sent.auth["signed"], sent.auth["signature"]) == expected_auth(sent, credentials, region=region)


def call(client: Any) -> None:
    """One operation of whichever of the three services `client` is."""
    name = client.meta.service_model.service_name
    if name == "personalize":
        client.list_dataset_groups()
    elif name == "personalize-runtime":
        client.get_recommendations(campaignArn=f"arn:aws:personalize:{REGION}:123456789012:campaign/c", userId="u1")
    else:
        client.put_events(trackingId="t", sessionId="s", eventList=[
            {"eventType": "click", "itemId": "i1", "sentAt": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)}])


def make_session(token: str | None = None, region: str | None = REGION) -> boto3.Session:
    return boto3.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, aws_session_token=token,
                         region_name=region)


CREDENTIALS = Credentials(ACCESS_KEY, SECRET_KEY)


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """No endpoint, profile, retry or credential settings from the developer's environment or ~/.aws."""
    for name in list(os.environ):
        if name.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_RETRY_MODE",
                            "AWS_MAX_ATTEMPTS", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_ACCESS_KEY_ID",
                            "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_signs_for_execute_api(service: str) -> None:
    client = tailor.client(service, ENDPOINT, session=make_session())
    capture = Capture().on(client)
    call(client)
    (sent,) = capture.sent
    assert sent.url.startswith(ENDPOINT.rstrip("/"))
    assert_signed_for_execute_api(sent, CREDENTIALS)
    assert "X-Amz-Security-Token" not in sent.headers


@pytest.mark.parametrize("service", SERVICES)
def test_session_token_is_sent_and_signed(service: str) -> None:
    client = tailor.client(service, ENDPOINT, session=make_session(token=TOKEN))
    capture = Capture().on(client)
    call(client)
    (sent,) = capture.sent
    assert sent.headers["X-Amz-Security-Token"] == TOKEN
    assert "x-amz-security-token" in sent.auth["signed"].split(";")
    assert_signed_for_execute_api(sent, Credentials(ACCESS_KEY, SECRET_KEY, TOKEN))


def test_the_check_detects_tampering() -> None:
    """The independent recomputation covers the body, the signed headers and the URL."""
    client = tailor.client("personalize-runtime", ENDPOINT, session=make_session())
    capture = Capture().on(client)
    call(client)
    (sent,) = capture.sent
    assert_signed_for_execute_api(sent, CREDENTIALS)
    tampered = [
        Sent(sent.method, sent.url, sent.headers, sent.body.replace(b"u1", b"u2")),
        Sent(sent.method, sent.url, {**sent.headers, "Content-Type": "text/plain"}, sent.body),
        Sent(sent.method, sent.url.replace("/dev/", "/prod/"), sent.headers, sent.body),
    ]
    for other in tampered:
        assert expected_auth(other, CREDENTIALS)[1] != sent.auth["signature"]
    # and a stock (personalize-scoped) signature is not what API Gateway would compute
    assert expected_auth(sent, CREDENTIALS, service="personalize")[1] != sent.auth["signature"]


def test_session_route_leaves_other_services_alone() -> None:
    session = make_session()
    clients.sign_for_execute_api(session)
    runtime = session.client("personalize-runtime", endpoint_url=ENDPOINT)
    s3 = session.client("s3")
    sts = session.client("sts")
    sts_answer = b"<GetCallerIdentityResponse><GetCallerIdentityResult/></GetCallerIdentityResponse>"
    captures = [Capture().on(runtime), Capture(body=b"").on(s3), Capture(body=sts_answer).on(sts)]
    call(runtime)
    s3.head_bucket(Bucket="user-data")
    sts.get_caller_identity()
    runtime_sent, s3_sent, sts_sent = (c.sent[0] for c in captures)
    assert_signed_for_execute_api(runtime_sent, CREDENTIALS)
    assert s3_sent.scope.endswith(f"/{REGION}/s3/aws4_request")
    assert sts_sent.scope.endswith(f"/{REGION}/sts/aws4_request")
    assert (sts_sent.auth["signed"], sts_sent.auth["signature"]) == expected_auth(sts_sent, CREDENTIALS, "sts")


def test_a_client_of_another_session_is_not_changed() -> None:
    clients.sign_for_execute_api(make_session())
    other = make_session().client("personalize-runtime", endpoint_url=ENDPOINT)
    capture = Capture().on(other)
    call(other)
    assert capture.sent[0].scope.endswith(f"/{REGION}/personalize/aws4_request")


def test_registering_twice_runs_the_hook_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    hook = clients._sign_for_execute_api

    def counting(request: Any, **kwargs: Any) -> None:
        calls.append(request.url)
        hook(request, **kwargs)

    monkeypatch.setattr(clients, "_sign_for_execute_api", counting)
    session = make_session()
    clients.sign_for_execute_api(session)
    clients.sign_for_execute_api(session._session)  # the same botocore session, via the other type
    client = session.client("personalize-runtime", endpoint_url=ENDPOINT)
    clients.sign_for_execute_api(client)
    client = tailor.client("personalize-runtime", ENDPOINT, session=session)  # registers on the client again
    capture = Capture().on(client)
    call(client)
    assert len(calls) == 1
    (sent,) = capture.sent
    assert_signed_for_execute_api(sent, CREDENTIALS)


@pytest.mark.parametrize("mode", ["legacy", "standard"])
def test_retried_requests_are_signed_again(mode: Literal["legacy", "standard"],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.config import Config

    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda seconds: None)  # the backoff
    client = tailor.client("personalize-runtime", ENDPOINT, session=make_session(token=TOKEN),
                           config=Config(retries={"mode": mode, "max_attempts": 3}))
    capture = Capture(failures=1).on(client)
    call(client)
    assert len(capture.sent) == 2
    for sent in capture.sent:
        assert_signed_for_execute_api(sent, Credentials(ACCESS_KEY, SECRET_KEY, TOKEN))
    # each attempt carries its own attempt header, so the retry really was signed anew rather than replayed
    assert capture.sent[0].headers["amz-sdk-request"] != capture.sent[1].headers["amz-sdk-request"]


def test_environment_variable_route(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_PERSONALIZE_RUNTIME", ENDPOINT)
    session = make_session()
    clients.sign_for_execute_api(session)
    client = session.client("personalize-runtime")
    capture = Capture().on(client)
    call(client)
    (sent,) = capture.sent
    assert sent.url == ENDPOINT + "recommendations"
    assert_signed_for_execute_api(sent, CREDENTIALS)


def test_default_session_route(monkeypatch: pytest.MonkeyPatch) -> None:
    """`sign_for_execute_api()` hooks the session plain `boto3.client(...)` uses."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_PERSONALIZE_EVENTS", ENDPOINT)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    clients.sign_for_execute_api()
    client = boto3.client("personalize-events")
    capture = Capture().on(client)
    call(client)
    (sent,) = capture.sent
    assert sent.url == ENDPOINT + "events"
    assert_signed_for_execute_api(sent, CREDENTIALS)


@pytest.mark.parametrize(("variable", "service"), [
    ("AWS_ENDPOINT_URL_PERSONALIZE", "personalize"),
    ("AWS_ENDPOINT_URL_PERSONALIZE_RUNTIME", "personalize-runtime"),
    ("AWS_ENDPOINT_URL_PERSONALIZE_EVENTS", "personalize-events"),
    ("AWS_ENDPOINT_URL", "personalize-runtime"),
])
def test_client_takes_the_endpoint_from_the_environment(variable: str, service: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(variable, ENDPOINT)
    client = tailor.client(service, session=make_session())
    assert client.meta.endpoint_url == ENDPOINT
    capture = Capture().on(client)
    call(client)
    assert_signed_for_execute_api(capture.sent[0], CREDENTIALS)


def test_the_api_region_wins_over_the_client_region() -> None:
    """API Gateway accepts only its own region in the scope; an execute-api hostname names it."""
    client = tailor.client("personalize", ENDPOINT, session=make_session(region="us-east-1"))
    capture = Capture().on(client)
    call(client)
    assert_signed_for_execute_api(capture.sent[0], CREDENTIALS, region=REGION)


def test_region_from_the_endpoint_when_none_is_configured() -> None:
    client = tailor.client("personalize-events", ENDPOINT, session=make_session(region=None))
    assert client.meta.region_name == REGION
    capture = Capture().on(client)
    call(client)
    assert_signed_for_execute_api(capture.sent[0], CREDENTIALS)


def test_a_custom_domain_keeps_the_client_region() -> None:
    client = tailor.client("personalize", "https://personalize.example.com/", session=make_session())
    capture = Capture().on(client)
    call(client)
    assert_signed_for_execute_api(capture.sent[0], CREDENTIALS)


@pytest.mark.parametrize("service", ["s3", "personalize-runtime-v2", "sagemaker"])
def test_other_services_are_refused(service: str) -> None:
    with pytest.raises(ValueError, match="personalize, personalize-runtime, personalize-events"):
        tailor.client(service, ENDPOINT, session=make_session())


def test_sign_for_execute_api_refuses_a_client_of_another_service() -> None:
    with pytest.raises(ValueError, match="personalize, personalize-runtime, personalize-events"):
        clients.sign_for_execute_api(make_session().client("s3"))
    with pytest.raises(TypeError):
        clients.sign_for_execute_api("personalize")  # type: ignore[arg-type]


@pytest.mark.parametrize("service", SERVICES)
def test_no_endpoint_configured_is_an_error(service: str) -> None:
    variable = "AWS_ENDPOINT_URL_" + service.upper().replace("-", "_")
    with pytest.raises(ValueError, match=f"no Tailor endpoint configured for {service}.*{variable}"):
        tailor.client(service, session=make_session())


def test_an_endpoint_variable_naming_amazon_personalize_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_PERSONALIZE_RUNTIME", f"https://personalize-runtime.{REGION}.amazonaws.com")
    with pytest.raises(ValueError, match="would call Amazon Personalize itself"):
        tailor.client("personalize-runtime", session=make_session())


def test_import_tailor_stays_cheap() -> None:
    code = ("import sys, tailor; assert callable(tailor.client); "
            "print(sorted(m for m in ('boto3', 'botocore', 'tailor.clients') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("service", ["personalize", "personalize-runtime", "personalize-events"])
def test_local_server_answers_execute_api_signed_requests(service: str, served: str) -> None:
    client = tailor.client(service, served, session=make_session())
    try:
        call(client)
    except ClientError as err:  # nothing exists on a fresh server: Tailor's own modelled error is the answer
        assert err.response["Error"]["Code"] in ("ResourceNotFoundException", "InvalidInputException"), err.response
