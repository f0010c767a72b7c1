"""KMS HMAC error precedence (issue 25). Per the API reference and the key
state table: the key must exist (NotFoundException), then its state must
allow the operation (DisabledException, KMSInvalidStateException), then its
KeyUsage must be GENERATE_VERIFY_MAC and the MacAlgorithm must fit its
KeySpec (InvalidKeyUsageException); only then is a MAC compared
(KMSInvalidMacException). MacAlgorithm outside the enum never reaches the
key (ValidationException)."""

import uuid

import botocore
import pytest


def code_of(call, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(**kw)
    return e.value.response["Error"]["Code"]


@pytest.fixture
def kms(gateway):
    return gateway.client("kms")


def hmac_key(kms, spec="HMAC_256"):
    return kms.create_key(KeySpec=spec, KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]


@pytest.fixture(params=["generate", "verify"])
def mac_call(request, kms):
    """GenerateMac or VerifyMac with the same key/algorithm arguments."""
    def call(**kw):
        if request.param == "generate":
            return kms.generate_mac(Message=b"m", **kw)
        return kms.verify_mac(Message=b"m", Mac=b"\x00" * 32, **kw)
    return call


def test_unknown_key_is_not_found(mac_call):
    assert code_of(mac_call, KeyId=str(uuid.uuid4()), MacAlgorithm="HMAC_SHA_256") == "NotFoundException"


def test_algorithm_outside_the_enum_is_a_validation_error(kms, mac_call):
    # Checked on the request, before the key is looked up.
    assert code_of(mac_call, KeyId=str(uuid.uuid4()), MacAlgorithm="HMAC_SHA_999") == "ValidationException"


def test_wrong_key_usage(kms, mac_call):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    assert code_of(mac_call, KeyId=key, MacAlgorithm="HMAC_SHA_256") == "InvalidKeyUsageException"
    sign = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    assert code_of(mac_call, KeyId=sign, MacAlgorithm="HMAC_SHA_256") == "InvalidKeyUsageException"


def test_algorithm_that_does_not_fit_the_key_spec(kms, mac_call):
    key = hmac_key(kms, "HMAC_256")
    assert code_of(mac_call, KeyId=key, MacAlgorithm="HMAC_SHA_512") == "InvalidKeyUsageException"


def test_disabled_key_comes_before_usage_and_algorithm(kms, mac_call):
    key = hmac_key(kms)
    kms.disable_key(KeyId=key)
    assert code_of(mac_call, KeyId=key, MacAlgorithm="HMAC_SHA_256") == "DisabledException"
    assert code_of(mac_call, KeyId=key, MacAlgorithm="HMAC_SHA_512") == "DisabledException"
    wrong_usage = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=wrong_usage)
    assert code_of(mac_call, KeyId=wrong_usage, MacAlgorithm="HMAC_SHA_256") == "DisabledException"


def test_pending_deletion_is_invalid_state(kms, mac_call):
    key = hmac_key(kms)
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    assert code_of(mac_call, KeyId=key, MacAlgorithm="HMAC_SHA_256") == "KMSInvalidStateException"
    assert code_of(mac_call, KeyId=key, MacAlgorithm="HMAC_SHA_512") == "KMSInvalidStateException"


def test_verify_checks_the_key_before_the_mac(kms):
    key = hmac_key(kms)
    # A wrong algorithm is a key usage error, not an invalid MAC.
    assert code_of(kms.verify_mac, KeyId=key, Message=b"m", Mac=b"x" * 64,
                   MacAlgorithm="HMAC_SHA_384") == "InvalidKeyUsageException"
    assert code_of(kms.verify_mac, KeyId=key, Message=b"m", Mac=b"x" * 32,
                   MacAlgorithm="HMAC_SHA_256") == "KMSInvalidMacException"


def test_dry_run_reports_errors_before_success(kms):
    key = hmac_key(kms)
    assert code_of(kms.generate_mac, KeyId=key, Message=b"m", MacAlgorithm="HMAC_SHA_512",
                   DryRun=True) == "InvalidKeyUsageException"
    assert code_of(kms.generate_mac, KeyId=key, Message=b"m", MacAlgorithm="HMAC_SHA_256",
                   DryRun=True) == "DryRunOperationException"


def test_pending_import_is_invalid_state(kms, mac_call):
    key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC", Origin="EXTERNAL")["KeyMetadata"]
    assert key["KeyState"] == "PendingImport"
    assert code_of(mac_call, KeyId=key["KeyId"], MacAlgorithm="HMAC_SHA_256") == "KMSInvalidStateException"
