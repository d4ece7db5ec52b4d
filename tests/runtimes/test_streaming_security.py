"""Client security from the environment: the aiokafka keyword arguments and faust credentials
each Kafka setting maps to, and a one-line error for a setting that cannot work."""

from __future__ import annotations

import faust
import pytest

from claimsim.adjudication.runtimes.streaming.security import client_options, faust_credentials
from claimsim.events.errors import UserError


def test_no_settings_is_plaintext_with_no_extra_arguments():
    assert client_options({}) == {}
    assert faust_credentials({}) is None


def test_sasl_ssl_with_scram_sets_protocol_mechanism_user_and_a_tls_context():
    env = {"KAFKA_SECURITY_PROTOCOL": "sasl_ssl", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
           "KAFKA_SASL_USERNAME": "adjudicator", "KAFKA_SASL_PASSWORD": "s3cret"}
    options = client_options(env)
    assert {k: v for k, v in options.items() if k != "ssl_context"} == {
        "security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "adjudicator", "sasl_plain_password": "s3cret"}
    assert options["ssl_context"].verify_mode.name == "CERT_REQUIRED"
    creds = faust_credentials(env)
    assert isinstance(creds, faust.SASLCredentials) and creds.username == "adjudicator"


def test_ssl_alone_gives_faust_ssl_credentials():
    assert isinstance(faust_credentials({"KAFKA_SECURITY_PROTOCOL": "SSL"}), faust.SSLCredentials)


@pytest.mark.parametrize("env, message", [
    ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL=TLS: one of"),
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"}, "needs KAFKA_SASL_USERNAME"),
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_USERNAME": "u",
      "KAFKA_SASL_MECHANISM": "GSSAPI"}, "KAFKA_SASL_MECHANISM=GSSAPI: one of"),
    ({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CAFILE": "/no/such/ca.pem"}, "KAFKA_SSL_CAFILE"),
])
def test_a_setting_that_cannot_work_is_a_user_error_naming_it(env, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        client_options(env)
