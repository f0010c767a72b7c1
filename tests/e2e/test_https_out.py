"""HTTPS out: the `http` capability speaks TLS, trusting the platform's roots
plus MINISTACK_CA_BUNDLE. A CA and a server certificate for 127.0.0.1 are
made here (python `cryptography`); a python ssl server receives an SNS https
subscription's confirmation and notification end to end."""

import datetime
import http.server
import ipaddress
import json
import queue
import ssl
import threading
import time

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def make_ca_and_server_cert(tmp):
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ministack e2e CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = tmp / "ca.pem"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_pem = tmp / "server.pem"
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem = tmp / "server.key"
    key_pem.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return ca_pem, cert_pem, key_pem


class TlsReceiver:
    """An HTTPS endpoint on 127.0.0.1 that records every POST."""

    def __init__(self, cert, key):
        self.requests = queue.Queue()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests.put(({k.lower(): v for k, v in self.headers.items()}, body.decode()))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next(self, timeout=10):
        return self.requests.get(timeout=timeout)

    def close(self):
        self.server.shutdown()


@pytest.fixture
def tls(tmp_path):
    ca, cert, key = make_ca_and_server_cert(tmp_path)
    r = TlsReceiver(cert, key)
    yield ca, r
    r.close()


def test_sns_https_subscription_is_delivered_over_tls(make_gateway, tls):
    ca, receiver = tls
    g = make_gateway(env={"MINISTACK_CA_BUNDLE": str(ca), "SERVICES": "sns"})
    sns = g.client("sns")
    topic = sns.create_topic(Name="tls-topic")["TopicArn"]
    out = sns.subscribe(TopicArn=topic, Protocol="https", Endpoint=receiver.url)
    assert out["SubscriptionArn"] == "pending confirmation"
    headers, body = receiver.next()
    assert headers["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    confirm = json.loads(body)
    r = requests.get(confirm["SubscribeURL"].replace("localhost", "127.0.0.1"), timeout=10)
    assert r.status_code == 200, r.text
    sns.publish(TopicArn=topic, Message="over tls", Subject="S")
    headers, body = receiver.next()
    assert headers["x-amz-sns-message-type"] == "Notification"
    note = json.loads(body)
    assert note["Message"] == "over tls" and note["TopicArn"] == topic


def test_an_untrusted_certificate_is_refused(make_gateway, tls):
    _, receiver = tls
    g = make_gateway(env={"SERVICES": "sns"})
    sns = g.client("sns")
    topic = sns.create_topic(Name="untrusted")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="https", Endpoint=receiver.url)
    deadline = time.time() + 10
    while time.time() < deadline and "UnknownIssuer" not in g.logs():
        time.sleep(0.2)
    assert "UnknownIssuer" in g.logs(), g.logs()[-3000:]
    assert receiver.requests.empty()


def test_a_bad_ca_bundle_stops_the_start(tmp_path):
    import os
    import subprocess

    from conftest import BINARY, ROOT, free_port

    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    env = {**os.environ, "GATEWAY_PORT": str(free_port()), "BIND_HOST": "127.0.0.1",
           "MINISTACK_CA_BUNDLE": str(bad), "SERVICES": "sns"}
    out = subprocess.run([str(BINARY)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "MINISTACK_CA_BUNDLE" in out.stderr and "no PEM certificate" in out.stderr, out.stderr
