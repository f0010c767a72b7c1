"""KMS through the whole gateway with boto3 and the aws CLI: real AES-GCM
encryption bound to the encryption context, RSA/ECC signatures checked with
Python `cryptography`, RSA-OAEP from `cryptography` decrypted by KMS, HMAC,
data keys, aliases, key states, rotation, grants, tags, policies, imported
key material and AWS's error codes."""

import base64
import hashlib
import hmac as pyhmac
import json
import os
import re
import uuid

import botocore.exceptions
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ACCOUNT = "111122223333"


@pytest.fixture
def kms(gateway):
    return gateway.client("kms", account=ACCOUNT)


def error(excinfo):
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def raw(gateway, operation, body, account=ACCOUNT):
    """A request botocore would refuse to send (its own validation)."""
    r = gateway.json_call("TrentService", operation, body, account=account, version="1.1")
    return r.status_code, r.json().get("__type", "").split("#")[-1]


def symmetric(kms, **kw):
    return kms.create_key(**kw)["KeyMetadata"]


def test_create_and_describe_a_symmetric_key(kms):
    meta = symmetric(kms, Description="app data", Tags=[{"TagKey": "team", "TagValue": "core"}])
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", meta["KeyId"])
    assert meta["Arn"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{meta['KeyId']}"
    assert meta["AWSAccountId"] == ACCOUNT
    assert meta["KeyState"] == "Enabled" and meta["Enabled"] is True
    assert meta["KeySpec"] == "SYMMETRIC_DEFAULT" and meta["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert meta["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    assert meta["Origin"] == "AWS_KMS" and meta["KeyManager"] == "CUSTOMER"
    assert meta["MultiRegion"] is False
    described = kms.describe_key(KeyId=meta["Arn"])["KeyMetadata"]
    assert described["Description"] == "app data"
    assert described["CreationDate"] == meta["CreationDate"]
    assert kms.list_resource_tags(KeyId=meta["KeyId"])["Tags"] == [{"TagKey": "team", "TagValue": "core"}]


def test_encrypt_then_decrypt_in_another_call_with_the_context(kms):
    key = symmetric(kms)["KeyId"]
    context = {"purpose": "e2e", "tenant": "a"}
    out = kms.encrypt(KeyId=key, Plaintext=b"attack at dawn", EncryptionContext=context)
    assert out["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert out["KeyId"].endswith(key)
    blob = out["CiphertextBlob"]
    assert b"attack at dawn" not in blob
    # The blob names its key: no KeyId needed.
    plain = kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
    assert plain["Plaintext"] == b"attack at dawn"
    assert plain["KeyId"] == out["KeyId"]
    # Wrong, partial or missing context fails authentication.
    for wrong in [{"purpose": "e2e", "tenant": "b"}, {"purpose": "e2e"}, None]:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            kwargs = {"EncryptionContext": wrong} if wrong is not None else {}
            kms.decrypt(CiphertextBlob=blob, **kwargs)
        assert error(e) == ("InvalidCiphertextException", 400)
    # A tampered blob too.
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.decrypt(CiphertextBlob=tampered, EncryptionContext=context)
    assert error(e)[0] == "InvalidCiphertextException"
    # Naming another key is IncorrectKeyException.
    other = symmetric(kms)["KeyId"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.decrypt(CiphertextBlob=blob, EncryptionContext=context, KeyId=other)
    assert error(e)[0] == "IncorrectKeyException"
    # Two encryptions of the same plaintext differ (random nonce).
    again = kms.encrypt(KeyId=key, Plaintext=b"attack at dawn", EncryptionContext=context)
    assert again["CiphertextBlob"] != blob


def test_ciphertext_is_tied_to_the_account_and_region(gateway, kms):
    key = symmetric(kms)["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    other = gateway.client("kms", account="444455556666")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        other.decrypt(CiphertextBlob=blob)
    assert error(e)[0] == "InvalidCiphertextException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        gateway.client("kms", account=ACCOUNT, region="eu-west-1").describe_key(KeyId=key)
    assert error(e) == ("NotFoundException", 400)


def test_garbage_and_unknown_keys(kms):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.decrypt(CiphertextBlob=b"not a kms blob at all")
    assert error(e) == ("InvalidCiphertextException", 400)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.describe_key(KeyId=str(uuid.uuid4()))
    assert error(e) == ("NotFoundException", 400)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.encrypt(KeyId="alias/does-not-exist", Plaintext=b"x")
    assert error(e)[0] == "NotFoundException"


def test_data_keys(gateway, kms):
    key = symmetric(kms)["KeyId"]
    out = kms.generate_data_key(KeyId=key, KeySpec="AES_256", EncryptionContext={"k": "v"})
    assert len(out["Plaintext"]) == 32
    assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"k": "v"})["Plaintext"] == out["Plaintext"]
    # The data key really is an AES key.
    nonce = os.urandom(12)
    sealed = AESGCM(out["Plaintext"]).encrypt(nonce, b"payload", None)
    assert AESGCM(out["Plaintext"]).decrypt(nonce, sealed, None) == b"payload"
    assert len(kms.generate_data_key(KeyId=key, KeySpec="AES_128")["Plaintext"]) == 16
    assert len(kms.generate_data_key(KeyId=key, NumberOfBytes=64)["Plaintext"]) == 64
    without = kms.generate_data_key_without_plaintext(KeyId=key, KeySpec="AES_256")
    assert "Plaintext" not in without
    assert len(kms.decrypt(CiphertextBlob=without["CiphertextBlob"])["Plaintext"]) == 32
    for kwargs in [{}, {"KeySpec": "AES_256", "NumberOfBytes": 32}]:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            kms.generate_data_key(KeyId=key, **kwargs)
        assert error(e) == ("ValidationException", 400)
    rnd = kms.generate_random(NumberOfBytes=48)["Plaintext"]
    assert len(rnd) == 48 and rnd != kms.generate_random(NumberOfBytes=48)["Plaintext"]
    assert raw(gateway, "GenerateRandom", {"NumberOfBytes": 2000}) == (400, "ValidationException")


def test_dry_run(kms):
    key = symmetric(kms)["KeyId"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.encrypt(KeyId=key, Plaintext=b"x", DryRun=True)
    assert error(e) == ("DryRunOperationException", 412)
    # A dry run of a request that would fail reports the failure instead.
    kms.disable_key(KeyId=key)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.encrypt(KeyId=key, Plaintext=b"x", DryRun=True)
    assert error(e)[0] == "DisabledException"


def test_key_last_usage(kms):
    key = symmetric(kms)["KeyId"]
    out = kms.get_key_last_usage(KeyId=key)
    assert "KeyLastUsage" not in out and out["KeyId"].endswith(key)
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    assert kms.get_key_last_usage(KeyId=key)["KeyLastUsage"]["Operation"] == "Encrypt"
    kms.decrypt(CiphertextBlob=blob)
    usage = kms.get_key_last_usage(KeyId=key)["KeyLastUsage"]
    assert usage["Operation"] == "Decrypt" and "Timestamp" in usage


def test_re_encrypt_moves_ciphertext_between_keys(kms):
    a, b = symmetric(kms)["KeyId"], symmetric(kms)["KeyId"]
    blob = kms.encrypt(KeyId=a, Plaintext=b"move me", EncryptionContext={"x": "1"})["CiphertextBlob"]
    out = kms.re_encrypt(
        CiphertextBlob=blob,
        SourceEncryptionContext={"x": "1"},
        DestinationKeyId=b,
        DestinationEncryptionContext={"y": "2"},
    )
    assert out["SourceKeyId"].endswith(a) and out["KeyId"].endswith(b)
    plain = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"y": "2"})
    assert plain["Plaintext"] == b"move me" and plain["KeyId"].endswith(b)


def test_aliases(kms):
    a, b = symmetric(kms)["KeyId"], symmetric(kms)["KeyId"]
    name = f"alias/app-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=name, TargetKeyId=a)
    blob = kms.encrypt(KeyId=name, Plaintext=b"via alias")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["KeyId"].endswith(a)
    alias_arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:{name}"
    assert kms.describe_key(KeyId=alias_arn)["KeyMetadata"]["KeyId"] == a
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.create_alias(AliasName=name, TargetKeyId=b)
    assert error(e)[0] == "AlreadyExistsException"
    kms.update_alias(AliasName=name, TargetKeyId=b)
    listed = kms.list_aliases(KeyId=b)["Aliases"]
    assert [x["AliasName"] for x in listed] == [name]
    assert listed[0]["AliasArn"] == alias_arn and listed[0]["TargetKeyId"] == b
    # Old ciphertexts still name key a.
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"via alias"
    for bad in ["no-prefix", "alias/aws/mine"]:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            kms.create_alias(AliasName=bad, TargetKeyId=a)
        assert error(e)[0] in ("InvalidAliasNameException", "NotAuthorizedException")
    kms.delete_alias(AliasName=name)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.delete_alias(AliasName=name)
    assert error(e)[0] == "NotFoundException"


def test_aws_managed_key_is_made_on_first_use(gateway):
    kms = gateway.client("kms", account="777788889999")
    blob = kms.encrypt(KeyId="alias/aws/s3", Plaintext=b"managed")["CiphertextBlob"]
    meta = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
    assert meta["KeyManager"] == "AWS"
    assert kms.decrypt(CiphertextBlob=blob)["KeyId"] == meta["Arn"]
    names = [a["AliasName"] for a in kms.list_aliases()["Aliases"]]
    assert "alias/aws/s3" in names
    # The same key the second time.
    assert kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["KeyId"] == meta["KeyId"]
    assert kms.get_key_rotation_status(KeyId=meta["KeyId"])["KeyRotationEnabled"] is True


def test_list_keys_paginates(gateway):
    kms = gateway.client("kms", account="121212121212")
    made = {symmetric(kms)["KeyId"] for _ in range(5)}
    seen, pages, marker = set(), 0, None
    while True:
        kwargs = {"Marker": marker} if marker else {}
        page = kms.list_keys(Limit=2, **kwargs)
        pages += 1
        assert len(page["Keys"]) <= 2
        for k in page["Keys"]:
            assert k["KeyArn"].endswith(k["KeyId"])
            seen.add(k["KeyId"])
        if not page["Truncated"]:
            assert "NextMarker" not in page
            break
        marker = page["NextMarker"]
    assert seen == made and pages == 3
    paginated = {k["KeyId"] for p in kms.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 3}) for k in p["Keys"]}
    assert paginated == made
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.list_keys(Marker="bogus!")
    assert error(e)[0] == "InvalidMarkerException"


def test_enable_disable_and_deletion(gateway, kms):
    key = symmetric(kms)["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    kms.disable_key(KeyId=key)
    meta = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert meta["KeyState"] == "Disabled" and meta["Enabled"] is False
    for call in (lambda: kms.encrypt(KeyId=key, Plaintext=b"x"), lambda: kms.decrypt(CiphertextBlob=blob)):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert error(e) == ("DisabledException", 400)
    kms.enable_key(KeyId=key)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"

    out = kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    assert out["KeyState"] == "PendingDeletion" and out["PendingWindowInDays"] == 7
    meta = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion" and "DeletionDate" in meta
    for call in (
        lambda: kms.decrypt(CiphertextBlob=blob),
        lambda: kms.enable_key(KeyId=key),
        lambda: kms.schedule_key_deletion(KeyId=key),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert error(e) == ("KMSInvalidStateException", 400)
    assert raw(gateway, "ScheduleKeyDeletion", {"KeyId": key, "PendingWindowInDays": 3}) == (400, "ValidationException")
    assert kms.cancel_key_deletion(KeyId=key)["KeyId"].endswith(key)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Disabled"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.cancel_key_deletion(KeyId=key)
    assert error(e)[0] == "KMSInvalidStateException"
    kms.update_key_description(KeyId=key, Description="renamed")
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["Description"] == "renamed"


def test_rotation_keeps_old_material(gateway, kms):
    key = symmetric(kms)["KeyId"]
    status = kms.get_key_rotation_status(KeyId=key)
    assert status["KeyRotationEnabled"] is False
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=180)
    status = kms.get_key_rotation_status(KeyId=key)
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 180
    assert "NextRotationDate" in status
    old = kms.encrypt(KeyId=key, Plaintext=b"before")["CiphertextBlob"]
    before = kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"]
    kms.rotate_key_on_demand(KeyId=key)
    after = kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"]
    assert after != before
    new = kms.encrypt(KeyId=key, Plaintext=b"after")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=old)["Plaintext"] == b"before"
    assert kms.decrypt(CiphertextBlob=old)["KeyMaterialId"] == before
    assert kms.decrypt(CiphertextBlob=new)["KeyMaterialId"] == after
    rotations = kms.list_key_rotations(KeyId=key)["Rotations"]
    assert len(rotations) == 1
    assert rotations[0]["RotationType"] == "ON_DEMAND" and rotations[0]["KeyMaterialId"] == after
    assert rotations[0]["KeyMaterialState"] == "CURRENT"
    kms.disable_key_rotation(KeyId=key)
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False
    assert raw(gateway, "EnableKeyRotation", {"KeyId": key, "RotationPeriodInDays": 10}) == (400, "ValidationException")


def test_key_policy(kms):
    key = symmetric(kms)["KeyId"]
    policy = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    assert policy["Statement"][0]["Principal"]["AWS"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert kms.list_key_policies(KeyId=key)["PolicyNames"] == ["default"]
    mine = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"}]}
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(mine))
    assert json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"]) == mine
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.put_key_policy(KeyId=key, PolicyName="default", Policy="{not json")
    assert error(e)[0] == "MalformedPolicyDocumentException"


def test_tags(kms):
    key = symmetric(kms)["KeyId"]
    kms.tag_resource(KeyId=key, Tags=[{"TagKey": "a", "TagValue": "1"}, {"TagKey": "b", "TagValue": "2"}])
    kms.tag_resource(KeyId=key, Tags=[{"TagKey": "a", "TagValue": "3"}])
    kms.untag_resource(KeyId=key, TagKeys=["b"])
    assert kms.list_resource_tags(KeyId=key)["Tags"] == [{"TagKey": "a", "TagValue": "3"}]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.tag_resource(KeyId=key, Tags=[{"TagKey": "aws:reserved", "TagValue": "x"}])
    assert error(e)[0] == "TagException"


def test_grants(kms):
    key = symmetric(kms)["KeyId"]
    grantee = f"arn:aws:iam::{ACCOUNT}:role/app"
    retiree = f"arn:aws:iam::{ACCOUNT}:role/ops"
    g = kms.create_grant(KeyId=key, GranteePrincipal=grantee, RetiringPrincipal=retiree,
                         Operations=["Encrypt", "Decrypt"], Name="app-grant",
                         Constraints={"EncryptionContextSubset": {"app": "x"}})
    assert re.fullmatch(r"[0-9a-f]{64}", g["GrantId"]) and g["GrantToken"]
    # Same name and parameters: the same grant.
    again = kms.create_grant(KeyId=key, GranteePrincipal=grantee, RetiringPrincipal=retiree,
                             Operations=["Encrypt", "Decrypt"], Name="app-grant",
                             Constraints={"EncryptionContextSubset": {"app": "x"}})
    assert again["GrantId"] == g["GrantId"]
    # Grant tokens are accepted by cryptographic operations.
    kms.encrypt(KeyId=key, Plaintext=b"x", GrantTokens=[g["GrantToken"]])
    g2 = kms.create_grant(KeyId=key, GranteePrincipal=grantee, Operations=["Sign"] if False else ["GenerateDataKey"])
    grants = kms.list_grants(KeyId=key)["Grants"]
    assert {x["GrantId"] for x in grants} == {g["GrantId"], g2["GrantId"]}
    entry = next(x for x in grants if x["GrantId"] == g["GrantId"])
    assert entry["Operations"] == ["Encrypt", "Decrypt"] and entry["Name"] == "app-grant"
    assert entry["Constraints"] == {"EncryptionContextSubset": {"app": "x"}}
    page = kms.list_grants(KeyId=key, Limit=1)
    assert page["Truncated"] is True and len(page["Grants"]) == 1
    assert len(kms.list_grants(KeyId=key, Limit=1, Marker=page["NextMarker"])["Grants"]) == 1
    retirable = kms.list_retirable_grants(RetiringPrincipal=retiree)["Grants"]
    assert [x["GrantId"] for x in retirable] == [g["GrantId"]]
    kms.retire_grant(GrantToken=g["GrantToken"])
    kms.revoke_grant(KeyId=key, GrantId=g2["GrantId"])
    assert kms.list_grants(KeyId=key)["Grants"] == []
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.revoke_grant(KeyId=key, GrantId=g2["GrantId"])
    assert error(e)[0] == "InvalidGrantIdException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.retire_grant(GrantToken="bm9wZQ")
    assert error(e)[0] == "InvalidGrantTokenException"


def public_key(kms, key):
    out = kms.get_public_key(KeyId=key)
    return out, serialization.load_der_public_key(out["PublicKey"])


RSA_ALGS = {
    "RSASSA_PSS_SHA_256": (lambda: padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256),
    "RSASSA_PSS_SHA_384": (lambda: padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48), hashes.SHA384),
    "RSASSA_PSS_SHA_512": (lambda: padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64), hashes.SHA512),
    "RSASSA_PKCS1_V1_5_SHA_256": (padding.PKCS1v15, hashes.SHA256),
    "RSASSA_PKCS1_V1_5_SHA_384": (padding.PKCS1v15, hashes.SHA384),
    "RSASSA_PKCS1_V1_5_SHA_512": (padding.PKCS1v15, hashes.SHA512),
}


def test_rsa_signatures_verify_with_cryptography(kms):
    meta = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    key = meta["KeyId"]
    assert sorted(meta["SigningAlgorithms"]) == sorted(RSA_ALGS)
    out, pub = public_key(kms, key)
    assert out["KeySpec"] == "RSA_2048" and out["KeyUsage"] == "SIGN_VERIFY"
    assert pub.key_size == 2048
    message = b"sign this message"
    for alg, (pad, hash_cls) in RSA_ALGS.items():
        sig = kms.sign(KeyId=key, Message=message, SigningAlgorithm=alg)["Signature"]
        pub.verify(sig, message, pad(), hash_cls())  # raises if invalid
        assert kms.verify(KeyId=key, Message=message, Signature=sig, SigningAlgorithm=alg)["SignatureValid"] is True
    # DIGEST message type: the caller hashed.
    digest = hashlib.sha256(message).digest()
    sig = kms.sign(KeyId=key, Message=digest, MessageType="DIGEST", SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")["Signature"]
    pub.verify(sig, message, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.verify(KeyId=key, Message=b"tampered", Signature=sig, SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")
    assert error(e) == ("KMSInvalidSignatureException", 400)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.sign(KeyId=key, Message=b"short", MessageType="DIGEST", SigningAlgorithm="RSASSA_PSS_SHA_256")
    assert error(e)[0] == "ValidationException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.sign(KeyId=key, Message=message, SigningAlgorithm="ECDSA_SHA_256")
    assert error(e)[0] == "InvalidKeyUsageException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.encrypt(KeyId=key, Plaintext=b"x")
    assert error(e)[0] == "InvalidKeyUsageException"


def test_rsa_oaep_from_cryptography_decrypts_in_kms(kms):
    key = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    out, pub = public_key(kms, key)
    assert out["EncryptionAlgorithms"] == ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
    for alg, h in [("RSAES_OAEP_SHA_256", hashes.SHA256), ("RSAES_OAEP_SHA_1", hashes.SHA1)]:
        ct = pub.encrypt(b"for kms only", padding.OAEP(mgf=padding.MGF1(h()), algorithm=h(), label=None))
        plain = kms.decrypt(CiphertextBlob=ct, KeyId=key, EncryptionAlgorithm=alg)
        assert plain["Plaintext"] == b"for kms only" and plain["EncryptionAlgorithm"] == alg
    # KMS encrypts too, and decrypts its own.
    ct = kms.encrypt(KeyId=key, Plaintext=b"round", EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
    assert len(ct) == 256
    assert kms.decrypt(CiphertextBlob=ct, KeyId=key, EncryptionAlgorithm="RSAES_OAEP_SHA_256")["Plaintext"] == b"round"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.encrypt(KeyId=key, Plaintext=b"x")  # SYMMETRIC_DEFAULT on an RSA key
    assert error(e)[0] == "InvalidKeyUsageException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.decrypt(CiphertextBlob=ct, KeyId=key, EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    assert error(e)[0] == "InvalidCiphertextException"


@pytest.mark.parametrize("spec,alg,curve,hash_cls", [
    ("ECC_NIST_P256", "ECDSA_SHA_256", ec.SECP256R1, hashes.SHA256),
    ("ECC_NIST_P384", "ECDSA_SHA_384", ec.SECP384R1, hashes.SHA384),
    ("ECC_NIST_P521", "ECDSA_SHA_512", ec.SECP521R1, hashes.SHA512),
    ("ECC_SECG_P256K1", "ECDSA_SHA_256", ec.SECP256K1, hashes.SHA256),
])
def test_ecdsa_signatures_verify_with_cryptography(kms, spec, alg, curve, hash_cls):
    meta = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    assert meta["SigningAlgorithms"] == [alg]
    _, pub = public_key(kms, meta["KeyId"])
    assert isinstance(pub.curve, curve)
    message = b"ecdsa message"
    sig = kms.sign(KeyId=meta["KeyId"], Message=message, SigningAlgorithm=alg)["Signature"]
    assert sig[0] == 0x30  # DER
    pub.verify(sig, message, ec.ECDSA(hash_cls()))
    h = hashes.Hash(hash_cls())
    h.update(message)
    digest = h.finalize()
    sig2 = kms.sign(KeyId=meta["KeyId"], Message=digest, MessageType="DIGEST", SigningAlgorithm=alg)["Signature"]
    pub.verify(sig2, message, ec.ECDSA(hash_cls()))
    assert kms.verify(KeyId=meta["KeyId"], Message=digest, MessageType="DIGEST", Signature=sig2, SigningAlgorithm=alg)["SignatureValid"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.verify(KeyId=meta["KeyId"], Message=b"other", Signature=sig, SigningAlgorithm=alg)
    assert error(e)[0] == "KMSInvalidSignatureException"


def test_derive_shared_secret_matches_cryptography(kms):
    meta = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT")["KeyMetadata"]
    assert meta["KeyAgreementAlgorithms"] == ["ECDH"]
    kms_pub = serialization.load_der_public_key(kms.get_public_key(KeyId=meta["KeyId"])["PublicKey"])
    mine = ec.generate_private_key(ec.SECP256R1())
    my_pub = mine.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    out = kms.derive_shared_secret(KeyId=meta["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=my_pub)
    assert out["SharedSecret"] == mine.exchange(ec.ECDH(), kms_pub)
    assert out["KeyOrigin"] == "AWS_KMS"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.sign(KeyId=meta["KeyId"], Message=b"x", SigningAlgorithm="ECDSA_SHA_256")
    assert error(e)[0] == "InvalidKeyUsageException"
    signing = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.derive_shared_secret(KeyId=signing, KeyAgreementAlgorithm="ECDH", PublicKey=my_pub)
    assert error(e)[0] == "InvalidKeyUsageException"


def test_hmac_keys(kms):
    for spec, alg, digest in [("HMAC_256", "HMAC_SHA_256", "sha256"), ("HMAC_512", "HMAC_SHA_512", "sha512"), ("HMAC_224", "HMAC_SHA_224", "sha224")]:
        meta = kms.create_key(KeySpec=spec, KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
        assert meta["MacAlgorithms"] == [alg]
        mac = kms.generate_mac(KeyId=meta["KeyId"], Message=b"hello", MacAlgorithm=alg)["Mac"]
        assert len(mac) == hashlib.new(digest).digest_size
        assert kms.verify_mac(KeyId=meta["KeyId"], Message=b"hello", MacAlgorithm=alg, Mac=mac)["MacValid"] is True
        with pytest.raises(botocore.exceptions.ClientError) as e:
            kms.verify_mac(KeyId=meta["KeyId"], Message=b"hellO", MacAlgorithm=alg, Mac=mac)
        assert error(e)[0] == "KMSInvalidMacException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.generate_mac(KeyId=meta["KeyId"], Message=b"x", MacAlgorithm="HMAC_SHA_256")
    assert error(e)[0] == "InvalidKeyUsageException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.create_key(KeySpec="HMAC_256", KeyUsage="ENCRYPT_DECRYPT")
    assert error(e)[0] == "ValidationException"


def test_data_key_pairs(kms):
    key = symmetric(kms)["KeyId"]
    out = kms.generate_data_key_pair(KeyId=key, KeyPairSpec="ECC_NIST_P256", EncryptionContext={"p": "1"})
    private = serialization.load_der_private_key(out["PrivateKeyPlaintext"], password=None)
    pub = serialization.load_der_public_key(out["PublicKey"])
    sig = private.sign(b"m", ec.ECDSA(hashes.SHA256()))
    pub.verify(sig, b"m", ec.ECDSA(hashes.SHA256()))
    assert kms.decrypt(CiphertextBlob=out["PrivateKeyCiphertextBlob"], EncryptionContext={"p": "1"})["Plaintext"] == out["PrivateKeyPlaintext"]
    # (RSA pairs work the same way; ECC keeps the test fast: RSA key
    # generation in wasm takes seconds.)
    other = kms.generate_data_key_pair_without_plaintext(KeyId=key, KeyPairSpec="ECC_NIST_P384")
    assert "PrivateKeyPlaintext" not in other and other["KeyPairSpec"] == "ECC_NIST_P384"
    priv = serialization.load_der_private_key(kms.decrypt(CiphertextBlob=other["PrivateKeyCiphertextBlob"])["Plaintext"], password=None)
    assert isinstance(priv.curve, ec.SECP384R1)
    assert priv.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) == other["PublicKey"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.generate_data_key_pair(KeyId=key, KeyPairSpec="SM2")
    assert error(e)[0] == "UnsupportedOperationException"


def test_imported_key_material(kms):
    meta = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]
    key = meta["KeyId"]
    assert meta["KeyState"] == "PendingImport" and meta["Enabled"] is False
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.encrypt(KeyId=key, Plaintext=b"x")
    assert error(e)[0] == "KMSInvalidStateException"
    params = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    wrapping = serialization.load_der_public_key(params["PublicKey"])
    material = os.urandom(32)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    wrapped = wrapping.encrypt(material, oaep)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.import_key_material(KeyId=key, ImportToken=b"wrong token", EncryptedKeyMaterial=wrapped,
                                ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert error(e)[0] == "InvalidImportTokenException"
    kms.import_key_material(KeyId=key, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped,
                            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    meta = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert meta["KeyState"] == "Enabled" and meta["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"
    # The imported material is the AES-256-GCM key.
    blob = kms.encrypt(KeyId=key, Plaintext=b"imported")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"imported"
    kms.delete_imported_key_material(KeyId=key)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.decrypt(CiphertextBlob=blob)
    assert error(e)[0] == "KMSInvalidStateException"
    # Other material is refused; the same material brings the key back (the
    # import token and wrapping key stay valid for 24 hours).
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.import_key_material(KeyId=key, ImportToken=params["ImportToken"],
                                EncryptedKeyMaterial=wrapping.encrypt(os.urandom(32), oaep),
                                ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert error(e)[0] == "IncorrectKeyMaterialException"
    kms.import_key_material(KeyId=key, ImportToken=params["ImportToken"],
                            EncryptedKeyMaterial=wrapping.encrypt(material, oaep),
                            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"imported"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.get_parameters_for_import(KeyId=symmetric(kms)["KeyId"], WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    assert error(e)[0] == "UnsupportedOperationException"


def test_multi_region_key_fields(kms):
    meta = kms.create_key(MultiRegion=True)["KeyMetadata"]
    assert re.fullmatch(r"mrk-[0-9a-f]{32}", meta["KeyId"])
    assert meta["MultiRegion"] is True
    config = meta["MultiRegionConfiguration"]
    assert config["MultiRegionKeyType"] == "PRIMARY"
    assert config["PrimaryKey"] == {"Arn": meta["Arn"], "Region": "us-east-1"}
    blob = kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"mrk")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"mrk"


def test_no_custom_key_stores(kms):
    out = kms.describe_custom_key_stores()
    assert out["CustomKeyStores"] == [] and out["Truncated"] is False
    for call in (
        lambda: kms.describe_custom_key_stores(CustomKeyStoreName="mine"),
        lambda: kms.connect_custom_key_store(CustomKeyStoreId="cks-1234567890abcdef0"),
        lambda: kms.delete_custom_key_store(CustomKeyStoreId="cks-1234567890abcdef0"),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert error(e) == ("CustomKeyStoreNotFoundException", 400)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId="cks-1234567890abcdef0")
    assert error(e)[0] == "CustomKeyStoreNotFoundException"


def test_unimplemented_operations_answer_501(kms):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.replicate_key(KeyId=symmetric(kms)["KeyId"], ReplicaRegion="eu-west-1")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501


def test_aws_cli_encrypt_and_decrypt(gateway, tmp_path):
    key = gateway.client("kms", account=ACCOUNT).create_key(Description="cli")["KeyMetadata"]["KeyId"]
    source = tmp_path / "plain"
    source.write_bytes(b"from the cli")
    out = json.loads(gateway.aws("kms", "encrypt", "--key-id", key, "--plaintext", f"fileb://{source}",
                                 "--encryption-context", "stage=test", account=ACCOUNT).stdout)
    blob = tmp_path / "blob"
    blob.write_bytes(base64.b64decode(out["CiphertextBlob"]))
    plain = json.loads(gateway.aws("kms", "decrypt", "--ciphertext-blob", f"fileb://{blob}",
                                   "--encryption-context", "stage=test", account=ACCOUNT).stdout)
    assert base64.b64decode(plain["Plaintext"]) == b"from the cli"
