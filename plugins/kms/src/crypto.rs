//! The cryptography of KMS, as pure functions over bytes (RustCrypto crates).
//!
//! - Symmetric keys: AES-256-GCM. A ciphertext blob is self-describing:
//!   `version (1) | key id length (1) | key id | key material id (32) |
//!   nonce (12) | ciphertext+tag`; everything before the nonce plus the
//!   canonical encryption context is the AAD, so a changed header or context
//!   fails authentication.
//! - RSA: RSASSA-PSS (salt length = digest length, as AWS) and PKCS#1 v1.5
//!   signatures, RSAES-OAEP with SHA-1 or SHA-256 (MGF1 with the same hash).
//! - ECC: ECDSA over the prehash, DER signatures; keys stored as PKCS#8.
//! - HMAC: SHA-224/256/384/512.

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::{Oaep, Pkcs1v15Encrypt, Pkcs1v15Sign, Pss, RsaPrivateKey, RsaPublicKey};
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

/// Randomness from the host (WASI `random`) for the RustCrypto APIs.
pub struct HostRng;

impl rand_core::RngCore for HostRng {
    fn next_u32(&mut self) -> u32 {
        ministack_sdk::rand::u32()
    }
    fn next_u64(&mut self) -> u64 {
        ministack_sdk::rand::u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        ministack_sdk::rand::fill(dest)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        ministack_sdk::rand::fill(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for HostRng {}

pub fn random(n: usize) -> Vec<u8> {
    ministack_sdk::rand::bytes(n)
}

/// Why a cryptographic operation failed (mapped to AWS errors by callers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CryptoError {
    /// The blob is not one of ours, or does not authenticate.
    InvalidCiphertext,
    /// The input does not fit the key (e.g. too long for RSA-OAEP).
    Invalid(String),
    /// A signature or MAC does not verify.
    BadSignature,
}

// --- symmetric blobs ---

const BLOB_VERSION: u8 = 1;
pub const MATERIAL_ID_LEN: usize = 32;
const NONCE_LEN: usize = 12;

/// The parts of a symmetric ciphertext blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub key_id: String,
    /// Key material id as 64 hex characters.
    pub material_id: String,
    header_len: usize,
}

/// Canonical bytes of an encryption context: pairs sorted by key, each part
/// length-prefixed.
pub fn context_bytes(context: &BTreeMap<String, String>) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in context {
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(&(v.len() as u32).to_be_bytes());
        out.extend_from_slice(v.as_bytes());
    }
    out
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Encrypts `plaintext` under `secret` (32 bytes) into a self-describing blob.
pub fn seal(
    key_id: &str,
    material_id: &str,
    secret: &[u8],
    plaintext: &[u8],
    context: &BTreeMap<String, String>,
) -> Result<Vec<u8>, CryptoError> {
    let material = hex_decode(material_id)
        .filter(|m| m.len() == MATERIAL_ID_LEN)
        .ok_or_else(|| CryptoError::Invalid("bad key material id".into()))?;
    let mut blob = vec![BLOB_VERSION, key_id.len() as u8];
    blob.extend_from_slice(key_id.as_bytes());
    blob.extend_from_slice(&material);
    let mut aad = blob.clone();
    aad.extend_from_slice(&context_bytes(context));
    let nonce = random(NONCE_LEN);
    let cipher = Aes256Gcm::new_from_slice(secret)
        .map_err(|_| CryptoError::Invalid("bad key material".into()))?;
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| CryptoError::Invalid("encryption failed".into()))?;
    blob.extend_from_slice(&nonce);
    blob.extend_from_slice(&sealed);
    Ok(blob)
}

/// Reads the header of a blob (which key and material sealed it).
pub fn parse_blob(blob: &[u8]) -> Result<Blob, CryptoError> {
    if blob.len() < 2 || blob[0] != BLOB_VERSION {
        return Err(CryptoError::InvalidCiphertext);
    }
    let id_len = blob[1] as usize;
    let header_len = 2 + id_len + MATERIAL_ID_LEN;
    if id_len == 0 || blob.len() < header_len + NONCE_LEN + 16 {
        return Err(CryptoError::InvalidCiphertext);
    }
    let key_id = std::str::from_utf8(&blob[2..2 + id_len])
        .map_err(|_| CryptoError::InvalidCiphertext)?
        .to_string();
    Ok(Blob {
        key_id,
        material_id: hex(&blob[2 + id_len..header_len]),
        header_len,
    })
}

/// Decrypts a blob whose header is `parsed` with `secret`.
pub fn open(
    blob: &[u8],
    parsed: &Blob,
    secret: &[u8],
    context: &BTreeMap<String, String>,
) -> Result<Vec<u8>, CryptoError> {
    let (header, rest) = blob.split_at(parsed.header_len);
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let mut aad = header.to_vec();
    aad.extend_from_slice(&context_bytes(context));
    let cipher = Aes256Gcm::new_from_slice(secret).map_err(|_| CryptoError::InvalidCiphertext)?;
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: &aad,
            },
        )
        .map_err(|_| CryptoError::InvalidCiphertext)
}

// --- digests ---

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    pub fn output_len(self) -> usize {
        match self {
            Hash::Sha1 => 20,
            Hash::Sha224 => 28,
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
            Hash::Sha512 => 64,
        }
    }

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha1 => Sha1::digest(data).to_vec(),
            Hash::Sha224 => Sha224::digest(data).to_vec(),
            Hash::Sha256 => Sha256::digest(data).to_vec(),
            Hash::Sha384 => Sha384::digest(data).to_vec(),
            Hash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
}

// --- asymmetric key pairs ---

/// Curves KMS offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
    P521,
    Secp256k1,
    /// ECC_NIST_EDWARDS25519: EdDSA, signs messages (not ECDSA digests).
    Ed25519,
}

/// A new key pair: (PKCS#8 private key DER, SubjectPublicKeyInfo DER).
pub fn generate_rsa(bits: usize) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
    let key = RsaPrivateKey::new(&mut HostRng, bits)
        .map_err(|e| CryptoError::Invalid(format!("RSA key generation failed: {e}")))?;
    let private = key
        .to_pkcs8_der()
        .map_err(|e| CryptoError::Invalid(e.to_string()))?
        .as_bytes()
        .to_vec();
    let public = key
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| CryptoError::Invalid(e.to_string()))?
        .as_bytes()
        .to_vec();
    Ok((private, public))
}

fn rsa_key(private: &[u8]) -> Result<RsaPrivateKey, CryptoError> {
    RsaPrivateKey::from_pkcs8_der(private)
        .map_err(|e| CryptoError::Invalid(format!("stored RSA key unreadable: {e}")))
}

pub fn rsa_public(private: &[u8]) -> Result<Vec<u8>, CryptoError> {
    Ok(rsa_key(private)?
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| CryptoError::Invalid(e.to_string()))?
        .as_bytes()
        .to_vec())
}

/// RSA signature schemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaSig {
    Pss,
    Pkcs1,
}

fn pss(hash: Hash) -> Pss {
    match hash {
        Hash::Sha1 => Pss::new::<Sha1>(),
        Hash::Sha224 => Pss::new::<Sha224>(),
        Hash::Sha256 => Pss::new::<Sha256>(),
        Hash::Sha384 => Pss::new::<Sha384>(),
        Hash::Sha512 => Pss::new::<Sha512>(),
    }
}

fn pkcs1(hash: Hash) -> Pkcs1v15Sign {
    match hash {
        Hash::Sha1 => Pkcs1v15Sign::new::<Sha1>(),
        Hash::Sha224 => Pkcs1v15Sign::new::<Sha224>(),
        Hash::Sha256 => Pkcs1v15Sign::new::<Sha256>(),
        Hash::Sha384 => Pkcs1v15Sign::new::<Sha384>(),
        Hash::Sha512 => Pkcs1v15Sign::new::<Sha512>(),
    }
}

pub fn rsa_sign(
    private: &[u8],
    scheme: RsaSig,
    hash: Hash,
    digest: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let key = rsa_key(private)?;
    let result = match scheme {
        RsaSig::Pss => key.sign_with_rng(&mut HostRng, pss(hash), digest),
        RsaSig::Pkcs1 => key.sign(pkcs1(hash), digest),
    };
    result.map_err(|e| CryptoError::Invalid(e.to_string()))
}

pub fn rsa_verify(
    private: &[u8],
    scheme: RsaSig,
    hash: Hash,
    digest: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    let key: RsaPublicKey = rsa_key(private)?.to_public_key();
    let result = match scheme {
        RsaSig::Pss => key.verify(pss(hash), digest, signature),
        RsaSig::Pkcs1 => key.verify(pkcs1(hash), digest, signature),
    };
    result.map_err(|_| CryptoError::BadSignature)
}

/// RSA encryption paddings (`None` hash: PKCS#1 v1.5, for key import only).
fn oaep(hash: Hash) -> Oaep {
    match hash {
        Hash::Sha1 => Oaep::new::<Sha1>(),
        Hash::Sha224 => Oaep::new::<Sha224>(),
        Hash::Sha256 => Oaep::new::<Sha256>(),
        Hash::Sha384 => Oaep::new::<Sha384>(),
        Hash::Sha512 => Oaep::new::<Sha512>(),
    }
}

pub fn rsa_encrypt(private: &[u8], hash: Hash, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let key = rsa_key(private)?.to_public_key();
    key.encrypt(&mut HostRng, oaep(hash), plaintext)
        .map_err(|e| CryptoError::Invalid(e.to_string()))
}

pub fn rsa_decrypt(
    private: &[u8],
    hash: Option<Hash>,
    ciphertext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let key = rsa_key(private)?;
    match hash {
        Some(h) => key.decrypt(oaep(h), ciphertext),
        None => key.decrypt(Pkcs1v15Encrypt, ciphertext),
    }
    .map_err(|_| CryptoError::InvalidCiphertext)
}

macro_rules! ec_curve {
    ($name:ident, $krate:ident, $normalize:expr) => {
        mod $name {
            use super::CryptoError;
            use $krate::SecretKey;
            use $krate::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
            use $krate::ecdsa::{Signature, SigningKey, VerifyingKey};
            use $krate::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};

            fn secret(private: &[u8]) -> Result<SecretKey, CryptoError> {
                SecretKey::from_pkcs8_der(private)
                    .map_err(|e| CryptoError::Invalid(format!("stored EC key unreadable: {e}")))
            }

            pub fn generate() -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
                let key = SecretKey::random(&mut super::HostRng);
                let private = key
                    .to_pkcs8_der()
                    .map_err(|e| CryptoError::Invalid(e.to_string()))?
                    .as_bytes()
                    .to_vec();
                Ok((private.clone(), public(&private)?))
            }

            pub fn public(private: &[u8]) -> Result<Vec<u8>, CryptoError> {
                Ok(secret(private)?
                    .public_key()
                    .to_public_key_der()
                    .map_err(|e| CryptoError::Invalid(e.to_string()))?
                    .as_bytes()
                    .to_vec())
            }

            pub fn sign(private: &[u8], digest: &[u8]) -> Result<Vec<u8>, CryptoError> {
                let key = SigningKey::from_bytes(&secret(private)?.to_bytes())
                    .map_err(|e| CryptoError::Invalid(e.to_string()))?;
                let signature: Signature = key
                    .sign_prehash(digest)
                    .map_err(|e| CryptoError::Invalid(e.to_string()))?;
                Ok(signature.to_der().as_bytes().to_vec())
            }

            pub fn verify(
                private: &[u8],
                digest: &[u8],
                signature: &[u8],
            ) -> Result<(), CryptoError> {
                let key = SigningKey::from_bytes(&secret(private)?.to_bytes())
                    .map_err(|e| CryptoError::Invalid(e.to_string()))?;
                let verifying: VerifyingKey = *key.verifying_key();
                let mut signature =
                    Signature::from_der(signature).map_err(|_| CryptoError::BadSignature)?;
                if $normalize {
                    if let Some(low) = signature.normalize_s() {
                        signature = low;
                    }
                }
                verifying
                    .verify_prehash(digest, &signature)
                    .map_err(|_| CryptoError::BadSignature)
            }
        }
    };
}

ec_curve!(ec_p256, p256, false);
ec_curve!(ec_p384, p384, false);
ec_curve!(ec_k256, k256, true);

/// P-521 goes through its crate's own `SigningKey` wrapper (randomized nonces:
/// its deterministic signer needs the OS random source).
mod ec_p521 {
    use super::CryptoError;
    use p521::SecretKey;
    use p521::ecdsa::signature::hazmat::{PrehashVerifier, RandomizedPrehashSigner};
    use p521::ecdsa::{Signature, SigningKey, VerifyingKey};
    use p521::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};

    fn secret(private: &[u8]) -> Result<SecretKey, CryptoError> {
        SecretKey::from_pkcs8_der(private)
            .map_err(|e| CryptoError::Invalid(format!("stored EC key unreadable: {e}")))
    }

    pub fn generate() -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
        let key = SecretKey::random(&mut super::HostRng);
        let private = key
            .to_pkcs8_der()
            .map_err(|e| CryptoError::Invalid(e.to_string()))?
            .as_bytes()
            .to_vec();
        Ok((private.clone(), public(&private)?))
    }

    pub fn public(private: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Ok(secret(private)?
            .public_key()
            .to_public_key_der()
            .map_err(|e| CryptoError::Invalid(e.to_string()))?
            .as_bytes()
            .to_vec())
    }

    pub fn sign(private: &[u8], digest: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let key = SigningKey::from_bytes(&secret(private)?.to_bytes())
            .map_err(|e| CryptoError::Invalid(e.to_string()))?;
        let signature: Signature = key
            .sign_prehash_with_rng(&mut super::HostRng, digest)
            .map_err(|e| CryptoError::Invalid(e.to_string()))?;
        Ok(signature.to_der().as_bytes().to_vec())
    }

    pub fn verify(private: &[u8], digest: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
        let key = SigningKey::from_bytes(&secret(private)?.to_bytes())
            .map_err(|e| CryptoError::Invalid(e.to_string()))?;
        let verifying = VerifyingKey::from(&key);
        let signature = Signature::from_der(signature).map_err(|_| CryptoError::BadSignature)?;
        verifying
            .verify_prehash(digest, &signature)
            .map_err(|_| CryptoError::BadSignature)
    }
}

/// Ed25519 (RFC 8032): PureEdDSA over the message (`ED25519_SHA_512`) or
/// HashEdDSA over its SHA-512 digest (`ED25519_PH_SHA_512`).
pub mod ed25519 {
    use super::CryptoError;
    use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
    use ed25519_dalek::{Signature, SigningKey};
    use sha2::digest::consts::U64;
    use sha2::digest::{FixedOutput, HashMarker, Output, OutputSizeUser, Update};

    fn key(private: &[u8]) -> Result<SigningKey, CryptoError> {
        SigningKey::from_pkcs8_der(private)
            .map_err(|e| CryptoError::Invalid(format!("stored Ed25519 key unreadable: {e}")))
    }

    pub fn generate() -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
        let seed: [u8; 32] = super::random(32).try_into().expect("32 bytes");
        // PKCS#8 v1 (the seed alone), the form AWS and most readers use.
        let private = ed25519_dalek::pkcs8::KeypairBytes {
            secret_key: seed,
            public_key: None,
        }
        .to_pkcs8_der()
        .map_err(|e| CryptoError::Invalid(e.to_string()))?
        .as_bytes()
        .to_vec();
        Ok((private.clone(), public(&private)?))
    }

    pub fn public(private: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Ok(key(private)?
            .verifying_key()
            .to_public_key_der()
            .map_err(|e| CryptoError::Invalid(e.to_string()))?
            .as_bytes()
            .to_vec())
    }

    /// A SHA-512 digest computed elsewhere (KMS's DIGEST message type),
    /// handed to the prehashed signer as the finished hash.
    #[derive(Clone)]
    struct Digested([u8; 64]);

    impl Default for Digested {
        fn default() -> Self {
            Digested([0; 64])
        }
    }

    impl HashMarker for Digested {}
    impl OutputSizeUser for Digested {
        type OutputSize = U64;
    }
    impl Update for Digested {
        fn update(&mut self, _: &[u8]) {}
    }
    impl FixedOutput for Digested {
        fn finalize_into(self, out: &mut Output<Self>) {
            out.copy_from_slice(&self.0);
        }
    }

    fn digested(digest: &[u8]) -> Result<Digested, CryptoError> {
        let d: [u8; 64] = digest
            .try_into()
            .map_err(|_| CryptoError::Invalid("an Ed25519ph digest is 64 bytes".into()))?;
        Ok(Digested(d))
    }

    /// `prehashed`: `data` is a SHA-512 digest (Ed25519ph), else the message.
    pub fn sign(private: &[u8], data: &[u8], prehashed: bool) -> Result<Vec<u8>, CryptoError> {
        let key = key(private)?;
        let signature = if prehashed {
            key.sign_prehashed(digested(data)?, None)
                .map_err(|e| CryptoError::Invalid(e.to_string()))?
        } else {
            ed25519_dalek::Signer::sign(&key, data)
        };
        Ok(signature.to_bytes().to_vec())
    }

    pub fn verify(
        private: &[u8],
        data: &[u8],
        signature: &[u8],
        prehashed: bool,
    ) -> Result<(), CryptoError> {
        let verifying = key(private)?.verifying_key();
        let signature = Signature::from_slice(signature).map_err(|_| CryptoError::BadSignature)?;
        if prehashed {
            verifying
                .verify_prehashed(digested(data)?, None, &signature)
                .map_err(|_| CryptoError::BadSignature)
        } else {
            verifying
                .verify_strict(data, &signature)
                .map_err(|_| CryptoError::BadSignature)
        }
    }
}

pub fn generate_ec(curve: Curve) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
    match curve {
        Curve::P256 => ec_p256::generate(),
        Curve::P384 => ec_p384::generate(),
        Curve::P521 => ec_p521::generate(),
        Curve::Secp256k1 => ec_k256::generate(),
        Curve::Ed25519 => ed25519::generate(),
    }
}

pub fn ec_public(curve: Curve, private: &[u8]) -> Result<Vec<u8>, CryptoError> {
    match curve {
        Curve::P256 => ec_p256::public(private),
        Curve::P384 => ec_p384::public(private),
        Curve::P521 => ec_p521::public(private),
        Curve::Secp256k1 => ec_k256::public(private),
        Curve::Ed25519 => ed25519::public(private),
    }
}

pub fn ec_sign(curve: Curve, private: &[u8], digest: &[u8]) -> Result<Vec<u8>, CryptoError> {
    match curve {
        Curve::P256 => ec_p256::sign(private, digest),
        Curve::P384 => ec_p384::sign(private, digest),
        Curve::P521 => ec_p521::sign(private, digest),
        Curve::Secp256k1 => ec_k256::sign(private, digest),
        Curve::Ed25519 => ed25519::sign(private, digest, false),
    }
}

pub fn ec_verify(
    curve: Curve,
    private: &[u8],
    digest: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    match curve {
        Curve::P256 => ec_p256::verify(private, digest, signature),
        Curve::P384 => ec_p384::verify(private, digest, signature),
        Curve::P521 => ec_p521::verify(private, digest, signature),
        Curve::Secp256k1 => ec_k256::verify(private, digest, signature),
        Curve::Ed25519 => ed25519::verify(private, digest, signature, false),
    }
}

macro_rules! ecdh_curve {
    ($name:ident, $krate:ident) => {
        fn $name(private: &[u8], peer: &[u8]) -> Result<Vec<u8>, CryptoError> {
            use $krate::pkcs8::{DecodePrivateKey, DecodePublicKey};
            let secret = $krate::SecretKey::from_pkcs8_der(private)
                .map_err(|e| CryptoError::Invalid(format!("stored EC key unreadable: {e}")))?;
            let peer = $krate::PublicKey::from_public_key_der(peer).map_err(|_| {
                CryptoError::Invalid(
                    "PublicKey is not a DER-encoded SubjectPublicKeyInfo on the key's curve."
                        .into(),
                )
            })?;
            let shared = $krate::ecdh::diffie_hellman(secret.to_nonzero_scalar(), peer.as_affine());
            Ok(shared.raw_secret_bytes().to_vec())
        }
    };
}

ecdh_curve!(ecdh_p256, p256);
ecdh_curve!(ecdh_p384, p384);
ecdh_curve!(ecdh_p521, p521);

/// ECDH with the key's private half and a peer's SubjectPublicKeyInfo: the
/// raw shared secret (the x coordinate), as KMS DeriveSharedSecret returns.
pub fn ecdh(curve: Curve, private: &[u8], peer: &[u8]) -> Result<Vec<u8>, CryptoError> {
    match curve {
        Curve::P256 => ecdh_p256(private, peer),
        Curve::P384 => ecdh_p384(private, peer),
        Curve::P521 => ecdh_p521(private, peer),
        Curve::Secp256k1 => Err(CryptoError::Invalid(
            "ECC_SECG_P256K1 keys do not support key agreement.".into(),
        )),
        Curve::Ed25519 => Err(CryptoError::Invalid(
            "ECC_NIST_EDWARDS25519 keys do not support key agreement.".into(),
        )),
    }
}

// --- HMAC ---

pub fn hmac(hash: Hash, key: &[u8], message: &[u8]) -> Vec<u8> {
    fn run<M: Mac + KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
        let mut mac = <M as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(message);
        mac.finalize().into_bytes().to_vec()
    }
    match hash {
        Hash::Sha1 => run::<Hmac<Sha1>>(key, message),
        Hash::Sha224 => run::<Hmac<Sha224>>(key, message),
        Hash::Sha256 => run::<Hmac<Sha256>>(key, message),
        Hash::Sha384 => run::<Hmac<Sha384>>(key, message),
        Hash::Sha512 => run::<Hmac<Sha512>>(key, message),
    }
}

/// Constant-time comparison of two MACs.
pub fn mac_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn blobs_round_trip_and_bind_the_context() {
        let secret = random(32);
        let material = hex(&random(32));
        let c = ctx(&[("purpose", "test"), ("a", "b")]);
        let blob = seal("1234abcd-12ab", &material, &secret, b"hello", &c).unwrap();
        let parsed = parse_blob(&blob).unwrap();
        assert_eq!(parsed.key_id, "1234abcd-12ab");
        assert_eq!(parsed.material_id, material);
        assert_eq!(open(&blob, &parsed, &secret, &c).unwrap(), b"hello");
        assert_eq!(
            open(&blob, &parsed, &secret, &ctx(&[("purpose", "test")])),
            Err(CryptoError::InvalidCiphertext)
        );
        assert_eq!(
            open(&blob, &parsed, &secret, &BTreeMap::new()),
            Err(CryptoError::InvalidCiphertext)
        );
        let mut tampered = blob.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(
            open(&tampered, &parsed, &secret, &c),
            Err(CryptoError::InvalidCiphertext)
        );
        assert!(parse_blob(b"garbage").is_err());
        assert!(parse_blob(&[]).is_err());
    }

    #[test]
    fn context_bytes_are_unambiguous() {
        assert_ne!(
            context_bytes(&ctx(&[("ab", "c")])),
            context_bytes(&ctx(&[("a", "bc")]))
        );
    }

    #[test]
    fn ec_signatures_verify() {
        for curve in [Curve::P256, Curve::P384, Curve::P521, Curve::Secp256k1] {
            let (private, public) = generate_ec(curve).unwrap();
            assert_eq!(ec_public(curve, &private).unwrap(), public);
            let hash = match curve {
                Curve::P384 => Hash::Sha384,
                Curve::P521 => Hash::Sha512,
                _ => Hash::Sha256,
            };
            let digest = hash.digest(b"message");
            let sig = ec_sign(curve, &private, &digest).unwrap();
            assert_eq!(sig[0], 0x30, "DER sequence");
            ec_verify(curve, &private, &digest, &sig).unwrap();
            let other = hash.digest(b"other");
            assert_eq!(
                ec_verify(curve, &private, &other, &sig),
                Err(CryptoError::BadSignature)
            );
        }
    }

    #[test]
    fn rsa_signs_and_encrypts() {
        let (private, public) = generate_rsa(2048).unwrap();
        assert_eq!(rsa_public(&private).unwrap(), public);
        for scheme in [RsaSig::Pss, RsaSig::Pkcs1] {
            for hash in [Hash::Sha256, Hash::Sha384, Hash::Sha512] {
                let digest = hash.digest(b"message");
                let sig = rsa_sign(&private, scheme, hash, &digest).unwrap();
                assert_eq!(sig.len(), 256);
                rsa_verify(&private, scheme, hash, &digest, &sig).unwrap();
                assert!(rsa_verify(&private, scheme, hash, &hash.digest(b"x"), &sig).is_err());
            }
        }
        for hash in [Hash::Sha1, Hash::Sha256] {
            let ct = rsa_encrypt(&private, hash, b"secret").unwrap();
            assert_eq!(rsa_decrypt(&private, Some(hash), &ct).unwrap(), b"secret");
        }
    }

    #[test]
    fn ecdh_agrees() {
        for curve in [Curve::P256, Curve::P384, Curve::P521] {
            let (a, a_pub) = generate_ec(curve).unwrap();
            let (b, b_pub) = generate_ec(curve).unwrap();
            assert_eq!(
                ecdh(curve, &a, &b_pub).unwrap(),
                ecdh(curve, &b, &a_pub).unwrap()
            );
            assert!(ecdh(curve, &a, b"junk").is_err());
        }
    }

    #[test]
    fn hmac_known_answer() {
        // RFC 4231 test case 2.
        let mac = hmac(Hash::Sha256, b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(mac_equal(&mac, &mac.clone()));
        assert!(!mac_equal(&mac, &mac[..31]));
    }
}
