"""KMS fidelity (issue 25): Ed25519 keys and key pairs, check order,
rotation status of keys that cannot rotate."""

import hashlib

import botocore
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_der_private_key, load_der_public_key


def error_of(call, *args, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(*args, **kw)
    return e.value.response


@pytest.fixture
def kms(gateway):
    return gateway.client("kms")


def test_ed25519_keys_sign_raw_messages(kms):
    meta = kms.create_key(KeySpec="ECC_NIST_EDWARDS25519", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    assert meta["KeySpec"] == "ECC_NIST_EDWARDS25519"
    assert meta["SigningAlgorithms"] == ["ED25519_SHA_512", "ED25519_PH_SHA_512"]
    key = meta["KeyId"]
    pub = kms.get_public_key(KeyId=key)
    assert pub["KeySpec"] == "ECC_NIST_EDWARDS25519"
    assert pub["SigningAlgorithms"] == ["ED25519_SHA_512", "ED25519_PH_SHA_512"]
    public = load_der_public_key(pub["PublicKey"])
    assert isinstance(public, Ed25519PublicKey)

    msg = b"hello ed25519"
    sig = kms.sign(KeyId=key, Message=msg, MessageType="RAW", SigningAlgorithm="ED25519_SHA_512")["Signature"]
    assert len(sig) == 64
    public.verify(sig, msg)  # raises when invalid
    out = kms.verify(KeyId=key, Message=msg, MessageType="RAW", Signature=sig, SigningAlgorithm="ED25519_SHA_512")
    assert out["SignatureValid"] is True
    err = error_of(kms.verify, KeyId=key, Message=b"other", MessageType="RAW", Signature=sig,
                   SigningAlgorithm="ED25519_SHA_512")
    assert err["Error"]["Code"] == "KMSInvalidSignatureException"
    # Each algorithm takes its own message type.
    err = error_of(kms.sign, KeyId=key, Message=hashlib.sha512(msg).digest(), MessageType="DIGEST",
                   SigningAlgorithm="ED25519_SHA_512")
    assert err["Error"]["Code"] == "ValidationException"
    err = error_of(kms.sign, KeyId=key, Message=msg, MessageType="RAW", SigningAlgorithm="ED25519_PH_SHA_512")
    assert err["Error"]["Code"] == "ValidationException"
    err = error_of(kms.sign, KeyId=key, Message=msg, SigningAlgorithm="ECDSA_SHA_256")
    assert err["Error"]["Code"] == "InvalidKeyUsageException"


def test_ed25519ph_signs_sha512_digests(kms):
    key = kms.create_key(KeySpec="ECC_NIST_EDWARDS25519", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    digest = hashlib.sha512(b"prehashed message").digest()
    sig = kms.sign(KeyId=key, Message=digest, MessageType="DIGEST", SigningAlgorithm="ED25519_PH_SHA_512")["Signature"]
    assert len(sig) == 64
    assert kms.verify(KeyId=key, Message=digest, MessageType="DIGEST", Signature=sig,
                      SigningAlgorithm="ED25519_PH_SHA_512")["SignatureValid"] is True
    err = error_of(kms.sign, KeyId=key, Message=digest[:32], MessageType="DIGEST", SigningAlgorithm="ED25519_PH_SHA_512")
    assert err["Error"]["Code"] == "ValidationException"


def test_ed25519_data_key_pairs(kms):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    out = kms.generate_data_key_pair(KeyId=key, KeyPairSpec="ECC_NIST_EDWARDS25519")
    assert out["KeyPairSpec"] == "ECC_NIST_EDWARDS25519"
    private = load_der_private_key(out["PrivateKeyPlaintext"], password=None)
    public = load_der_public_key(out["PublicKey"])
    sig = private.sign(b"m")
    public.verify(sig, b"m")
    plain = kms.decrypt(CiphertextBlob=out["PrivateKeyCiphertextBlob"])["Plaintext"]
    assert plain == out["PrivateKeyPlaintext"]
    # Ed25519 keys neither encrypt nor agree keys.
    err = error_of(kms.create_key, KeySpec="ECC_NIST_EDWARDS25519", KeyUsage="KEY_AGREEMENT")
    assert err["Error"]["Code"] == "ValidationException"


def test_the_key_is_checked_before_the_pair_spec(kms):
    missing = "arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000"
    err = error_of(kms.generate_data_key_pair, KeyId=missing, KeyPairSpec="SM2")
    assert err["Error"]["Code"] == "NotFoundException", err
    hmac = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    err = error_of(kms.generate_data_key_pair, KeyId=hmac, KeyPairSpec="SM2")
    assert err["Error"]["Code"] == "InvalidKeyUsageException", err


@pytest.mark.parametrize("spec,usage", [
    ("HMAC_256", "GENERATE_VERIFY_MAC"),
    ("RSA_2048", "ENCRYPT_DECRYPT"),
    ("ECC_NIST_P256", "SIGN_VERIFY"),
    ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY"),
])
def test_rotation_status_is_false_for_keys_that_cannot_rotate(kms, spec, usage):
    key = kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]["KeyId"]
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False


def test_generate_data_key_checks_the_key_before_the_spec(kms):
    missing = "arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000"
    err = error_of(kms.generate_data_key, KeyId=missing)
    assert err["Error"]["Code"] == "NotFoundException", err
    signing = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    err = error_of(kms.generate_data_key, KeyId=signing)
    assert err["Error"]["Code"] == "InvalidKeyUsageException", err
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    err = error_of(kms.generate_data_key, KeyId=key)
    assert err["Error"]["Code"] == "ValidationException", err
