"""Stock boto3 Personalize clients that can call a Tailor deployed behind API Gateway with AWS_IAM auth.

API Gateway's IAM authorization wants SigV4 scoped to the ``execute-api`` service, but the stock ``personalize``,
``personalize-runtime`` and ``personalize-events`` clients sign for ``personalize`` and botocore has no setting
for the signing name. Two ways to fix that:

    import tailor
    runtime = tailor.client("personalize-runtime", endpoint_url="https://a1b2.execute-api.eu-west-1.amazonaws.com/dev/")

    # or keep your own clients: AWS_ENDPOINT_URL_PERSONALIZE_RUNTIME=https://…/dev/ plus, once,
    tailor.clients.sign_for_execute_api()          # boto3's default session; or pass a Session or one client
    runtime = boto3.client("personalize-runtime")

Only the three Personalize services are changed; every other client (s3, sts, …) signs as usual.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import boto3
    import botocore.session
    from botocore.client import BaseClient

SERVICES = ("personalize", "personalize-runtime", "personalize-events")
SIGNING_NAME = "execute-api"

# The region in an API Gateway hostname: {api-id}.execute-api.{region}.amazonaws.com (.cn), and the private-API
# form {api-id}-{vpce-id}.execute-api.{region}.vpce.amazonaws.com. Custom domain names carry no region.
_EXECUTE_API_HOST = re.compile(r"\.execute-api\.([a-z0-9-]+)\.")


def _unique_id(service: str) -> str:
    return f"tailor.clients.sign-for-execute-api.{service}"


def _execute_api_region(url: str | None) -> str | None:
    match = _EXECUTE_API_HOST.search(urlsplit(url).hostname or "") if url else None
    return match.group(1) if match else None


def _sign_for_execute_api(request: Any, **kwargs: Any) -> None:
    """botocore ``before-sign`` handler: make the signer scope this request to ``execute-api``.

    Why ``before-sign`` (it is not in botocore's public event list) rather than re-signing in the documented
    ``before-send``: ``RequestSigner.sign`` emits it on every attempt, retries included, and then reads
    ``request.context['signing']`` to pick the signing name and region. So the request is signed once, by the
    client's own signer, with the client's own (possibly refreshed) credentials, session token and region. A
    ``before-send`` handler only receives the prepared request: registered on a session it cannot tell which
    credentials or region the client that sent it was created with, so it would have to sign with the session's
    and would sign wrongly for a client given its own keys. tests/unit/test_clients.py verifies the signatures, so
    a botocore release that stopped honouring the override would fail there.
    """
    signing = request.context.setdefault("signing", {})
    signing["signing_name"] = SIGNING_NAME
    # API Gateway only accepts its own region in the scope; an execute-api hostname names it, so a client whose
    # region differs (a default region elsewhere) still signs correctly. The signer gives an explicit region
    # argument precedence over this, and it passes none for ordinary requests.
    region = _execute_api_region(getattr(request, "url", None))
    if region:
        signing["region"] = region


def _check_service(service_name: str) -> None:
    if service_name not in SERVICES:
        raise ValueError(f"Tailor serves only {', '.join(SERVICES)}; got {service_name!r}")


def sign_for_execute_api(target: boto3.Session | botocore.session.Session | BaseClient | None = None) -> None:
    """Make Personalize clients sign their requests for ``execute-api`` (API Gateway AWS_IAM auth).

    ``target`` is a boto3 ``Session`` or botocore session (every personalize, personalize-runtime and
    personalize-events client created from it afterwards is affected; other services are not), or one client of
    those three services. ``None`` means boto3's default session, the one ``boto3.client(...)`` uses; replacing it
    later (``boto3.setup_default_session()``) drops the hook. Registering again is a no-op.
    """
    if target is None:
        import boto3

        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        target = boto3.DEFAULT_SESSION
    meta = getattr(target, "meta", None)
    if meta is not None and hasattr(meta, "service_model"):  # a client
        service = meta.service_model.service_name
        _check_service(service)
        # The event name a client emits uses the hyphenized service id; for these three it is the service name.
        meta.events.register(f"before-sign.{meta.service_model.service_id.hyphenize()}", _sign_for_execute_api,
                             unique_id=_unique_id(service))
        return
    botocore_session = getattr(target, "_session", target)  # boto3.Session wraps a botocore session
    register = getattr(botocore_session, "register", None)
    if register is None:
        raise TypeError(f"expected a boto3 Session, a botocore session or a Personalize client, got {target!r}")
    for service in SERVICES:
        register(f"before-sign.{service}", _sign_for_execute_api, unique_id=_unique_id(service))


def client(service_name: str, endpoint_url: str | None = None, *,
           session: boto3.Session | botocore.session.Session | None = None, region_name: str | None = None,
           **kwargs: Any) -> Any:
    """A stock boto3 client for a Tailor behind API Gateway: it signs for ``execute-api``.

    ``service_name`` is ``personalize``, ``personalize-runtime`` or ``personalize-events``. Without
    ``endpoint_url`` the endpoint comes from where boto3 itself looks: ``AWS_ENDPOINT_URL_PERSONALIZE``,
    ``AWS_ENDPOINT_URL_PERSONALIZE_RUNTIME`` or ``AWS_ENDPOINT_URL_PERSONALIZE_EVENTS``, then ``AWS_ENDPOINT_URL``,
    then ``endpoint_url`` in the shared config file; if none is set this raises ``ValueError`` instead of
    returning a client for the real Amazon Personalize. ``session`` defaults to boto3's default session (which is
    not changed: only the returned client signs for execute-api). Without a region given or configured, an
    ``…execute-api.<region>.amazonaws.com`` endpoint supplies it. Other keyword arguments go to
    ``Session.client``.
    """
    _check_service(service_name)
    import boto3

    if session is None:
        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        session = boto3.DEFAULT_SESSION
    elif not isinstance(session, boto3.Session):
        session = boto3.Session(botocore_session=session)
    assert session is not None
    if region_name is None and session.region_name is None:
        region_name = _execute_api_region(endpoint_url)
    created = session.client(  # type: ignore[call-overload]
        service_name, endpoint_url=endpoint_url, region_name=region_name, **kwargs)
    if endpoint_url is None and _is_aws_endpoint(session, service_name, region_name, kwargs, created.meta.endpoint_url):
        variable = "AWS_ENDPOINT_URL_" + service_name.upper().replace("-", "_")
        raise ValueError(
            f"no Tailor endpoint configured for {service_name}: pass endpoint_url= or set {variable} (or "
            f"AWS_ENDPOINT_URL) to the API's invoke URL, e.g. https://<api-id>.execute-api.<region>.amazonaws.com"
            f"/<stage>/; without one the client would call Amazon Personalize itself ({created.meta.endpoint_url})")
    sign_for_execute_api(created)
    return created


def _is_aws_endpoint(session: boto3.Session, service_name: str, region_name: str | None, kwargs: dict[str, Any],
                     endpoint_url: str) -> bool:
    """Whether `endpoint_url` is the one boto3 resolves with configured endpoints ignored (the AWS one).

    Asking botocore (a second client with the documented ``ignore_configured_endpoint_urls``) rather than
    matching hostnames keeps FIPS, dual-stack and partition rules botocore's, and it also catches an endpoint
    variable that was set to Amazon Personalize itself.
    """
    from botocore.config import Config

    ignore = Config(ignore_configured_endpoint_urls=True)  # type: ignore[call-arg]  # botocore-stubs lag botocore
    config = kwargs.get("config")
    probe_kwargs = {**kwargs, "config": config.merge(ignore) if config is not None else ignore}
    probe = session.client(service_name, region_name=region_name, **probe_kwargs)  # type: ignore[call-overload]
    return bool(probe.meta.endpoint_url == endpoint_url)
