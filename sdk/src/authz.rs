//! Tokens one service issues and another reads: encoded authorization
//! messages (EC2's `UnauthorizedOperation` carries one; STS
//! DecodeAuthorizationMessage decodes it) and trade-in tokens (IAM delegation
//! requests; STS GetDelegatedAccessToken exchanges them). Kept here so that
//! issuer and reader agree on the format.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::encoding::{base64url_decode, base64url_encode};

const MESSAGE_PREFIX: &str = "MSAUTHZ1";
const TRADE_IN_PREFIX: &str = "MSTRADE1";

/// The encoded form of an authorization failure, for an error message.
/// `decoded` is the document DecodeAuthorizationMessage returns (see
/// [`authorization_context`] for AWS's shape).
pub fn encode_authorization_message(decoded: &Value) -> String {
    format!(
        "{MESSAGE_PREFIX}{}",
        base64url_encode(decoded.to_string().as_bytes())
    )
}

/// The document inside a message from [`encode_authorization_message`].
pub fn decode_authorization_message(encoded: &str) -> Option<Value> {
    let body = encoded.trim().strip_prefix(MESSAGE_PREFIX)?;
    let bytes = base64url_decode(body)?;
    serde_json::from_slice(&bytes).ok()
}

/// The decoded document AWS returns for a denied request.
pub fn authorization_context(
    principal_id: &str,
    principal_arn: &str,
    action: &str,
    resource: &str,
) -> Value {
    json!({
        "allowed": false,
        "explicitDeny": false,
        "matchedStatements": {"items": []},
        "failures": {"items": []},
        "context": {
            "principal": {"id": principal_id, "arn": principal_arn},
            "action": action,
            "resource": resource,
            "conditions": {"items": []}
        }
    })
}

/// What a trade-in token grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeIn {
    /// Account the credentials act in.
    pub account: String,
    /// ARN of the principal whose permissions are delegated.
    pub principal_arn: String,
    /// Epoch seconds after which the token cannot be exchanged.
    pub expires: u64,
    /// Session length of the credentials, in seconds.
    #[serde(default)]
    pub duration: u64,
}

pub fn encode_trade_in_token(grant: &TradeIn) -> String {
    let json = crate::json::to_string(grant).unwrap_or_default();
    format!("{TRADE_IN_PREFIX}{}", base64url_encode(json.as_bytes()))
}

pub fn decode_trade_in_token(token: &str) -> Option<TradeIn> {
    let body = token.trim().strip_prefix(TRADE_IN_PREFIX)?;
    serde_json::from_slice(&base64url_decode(body)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let doc = authorization_context("AIDA1", "arn:aws:iam::1:user/u", "ec2:RunInstances", "*");
        let enc = encode_authorization_message(&doc);
        assert_eq!(decode_authorization_message(&enc), Some(doc));
        assert_eq!(decode_authorization_message("garbage"), None);
        let t = TradeIn {
            account: "123456789012".into(),
            principal_arn: "arn:aws:iam::123456789012:role/r".into(),
            expires: 10,
            duration: 900,
        };
        assert_eq!(decode_trade_in_token(&encode_trade_in_token(&t)), Some(t));
    }
}
