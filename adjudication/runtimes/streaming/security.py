"""Client security settings for an existing Kafka cluster, from the environment: every client
the runtime opens (workers, the producer, the sink, the admin client, the load test) uses the
same ones, so workers on several hosts join one group with the cluster's SASL and TLS settings.

  KAFKA_SECURITY_PROTOCOL   PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL
  KAFKA_SASL_MECHANISM      PLAIN (default with SASL), SCRAM-SHA-256 or SCRAM-SHA-512
  KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD
  KAFKA_SSL_CAFILE          the CA bundle that signed the brokers' certificates (default: system)
  KAFKA_SSL_CERTFILE, KAFKA_SSL_KEYFILE   a client certificate, where the cluster asks for one

Choices where DESIGN.md is silent: the names follow the Kafka client properties they set
(`security.protocol`, `sasl.mechanism`, `ssl.truststore` as a CA file); an unknown protocol or
mechanism, or SASL without a username, is a one-line user error naming the variable.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from typing import Any

from claimsim.events.errors import UserError

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


def client_options(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Keyword arguments for aiokafka's producer, consumer and admin client."""
    env = os.environ if env is None else env
    protocol = env.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").upper()
    if protocol not in PROTOCOLS:
        raise UserError(f"KAFKA_SECURITY_PROTOCOL={protocol}: one of {', '.join(PROTOCOLS)}")
    if protocol == "PLAINTEXT":
        return {}
    options: dict[str, Any] = {"security_protocol": protocol}
    if "SSL" in protocol:
        options["ssl_context"] = _ssl_context(env)
    if protocol.startswith("SASL"):
        mechanism = env.get("KAFKA_SASL_MECHANISM", "PLAIN").upper()
        if mechanism not in MECHANISMS:
            raise UserError(f"KAFKA_SASL_MECHANISM={mechanism}: one of {', '.join(MECHANISMS)}")
        if not env.get("KAFKA_SASL_USERNAME"):
            raise UserError(f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_USERNAME"
                            " and KAFKA_SASL_PASSWORD")
        options.update(sasl_mechanism=mechanism, sasl_plain_username=env["KAFKA_SASL_USERNAME"],
                       sasl_plain_password=env.get("KAFKA_SASL_PASSWORD", ""))
    return options


def faust_credentials(env: Mapping[str, str] | None = None):
    """The same settings as faust's `broker_credentials` (None: plaintext)."""
    import faust

    options = client_options(env)
    if not options:
        return None
    if "sasl_mechanism" in options:
        return faust.SASLCredentials(username=options["sasl_plain_username"],
                                     password=options["sasl_plain_password"],
                                     mechanism=options["sasl_mechanism"],
                                     ssl_context=options.get("ssl_context"))
    return faust.SSLCredentials(options["ssl_context"])


def _ssl_context(env: Mapping[str, str]) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(cafile=env.get("KAFKA_SSL_CAFILE") or None)
        if env.get("KAFKA_SSL_CERTFILE"):
            context.load_cert_chain(env["KAFKA_SSL_CERTFILE"], env.get("KAFKA_SSL_KEYFILE") or None)
    except (OSError, ssl.SSLError) as e:
        raise UserError(f"KAFKA_SSL_CAFILE/KAFKA_SSL_CERTFILE/KAFKA_SSL_KEYFILE: {e}") from None
    return context
