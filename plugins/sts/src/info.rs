//! GetCallerIdentity, GetAccessKeyInfo and DecodeAuthorizationMessage.

use ministack_sdk::prelude::*;
use ministack_sdk::validate::{Validator, is_word_or};
use ministack_sdk::{authz, identity, ids};

use crate::sessions::{self, SESSIONS};
use crate::shapes::*;

pub fn get_caller_identity(ctx: &Context, _: Empty) -> Result<GetCallerIdentityResponse, AwsError> {
    let caller = sessions::caller(ctx)?;
    Ok(GetCallerIdentityResponse {
        user_id: Some(caller.user_id),
        account: Some(caller.account),
        arn: Some(caller.arn),
    })
}

pub fn get_access_key_info(
    ctx: &Context,
    input: GetAccessKeyInfoRequest,
) -> Result<GetAccessKeyInfoResponse, AwsError> {
    let key = &input.access_key_id;
    let mut v = Validator::new();
    v.pattern("accessKeyId", key, is_word_or(&[]), r"[\w]*");
    v.length("accessKeyId", key, 16, 128);
    v.finish(AwsError::validation_error)?;
    let account = if let Some(c) = identity::lookup(key) {
        c.account
    } else if let Some(s) = SESSIONS.get(key)? {
        s.account
    } else if ids::is_account_id(key) {
        // The gateway treats a 12-digit access key as the account id.
        key.clone()
    } else {
        ctx.account.clone()
    };
    Ok(GetAccessKeyInfoResponse {
        account: Some(account),
    })
}

pub fn decode_authorization_message(
    _ctx: &Context,
    input: DecodeAuthorizationMessageRequest,
) -> Result<DecodeAuthorizationMessageResponse, AwsError> {
    let mut v = Validator::new();
    v.length("encodedMessage", &input.encoded_message, 1, 10_240);
    v.finish(AwsError::validation_error)?;
    let decoded = authz::decode_authorization_message(&input.encoded_message).ok_or_else(|| {
        AwsError::new(
            "InvalidAuthorizationMessageException",
            "The message is not a valid encoded authorization message.",
        )
    })?;
    Ok(DecodeAuthorizationMessageResponse {
        decoded_message: Some(decoded.to_string()),
    })
}
