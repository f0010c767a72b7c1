//! SMS: account attributes, opt-outs, the sandbox's verified numbers and
//! origination numbers. Messages are recorded, never sent
//! (`/_ministack/sns/messages?protocol=sms`); a sandbox number's one-time
//! password arrives there too.

use std::collections::BTreeMap;

use ministack_sdk::prelude::*;
use ministack_sdk::{ids, rand};

use crate::inspect::{self, Delivery};
use crate::model::*;

const SMS_ATTRIBUTES: Table<BTreeMap<String, String>> = Table::new("sms-attributes");
const OPTED_OUT: Table<f64> = Table::new("sms-opted-out");
const SANDBOX: Table<SandboxNumber> = Table::new("sms-sandbox");

const SETTABLE: &[&str] = &[
    "DefaultSenderID",
    "MonthlySpendLimit",
    "DeliveryStatusIAMRole",
    "DeliveryStatusSuccessSamplingRate",
    "DefaultSMSType",
    "UsageReportS3Bucket",
];

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SandboxNumber {
    phone_number: String,
    status: String,
    otp: String,
}

/// E.164: `+` and 2 to 15 digits, not starting with 0.
pub fn valid_phone(number: &str) -> bool {
    let digits = number.strip_prefix('+').unwrap_or(number);
    (2..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0')
}

/// Publish with PhoneNumber: recorded (skipped for an opted-out number).
pub fn publish_sms(_ctx: &Context, phone: &str, message: &str) -> Result<String, AwsError> {
    if !valid_phone(phone) {
        return Err(invalid(format!(
            "Invalid parameter: PhoneNumber Reason: {phone} is not valid to publish to"
        )));
    }
    let message_id = ids::uuid();
    if OPTED_OUT.contains(phone) {
        ministack_sdk::info!("{phone} opted out of SMS: message {message_id} not sent");
        return Ok(message_id);
    }
    inspect::record(&Delivery {
        protocol: "sms".into(),
        endpoint: phone.to_string(),
        message_id: message_id.clone(),
        kind: "Notification".into(),
        message: message.to_string(),
        ..Default::default()
    })?;
    Ok(message_id)
}

#[derive(Deserialize)]
pub struct SetSmsAttributesInput {
    attributes: BTreeMap<String, String>,
}

pub fn set_sms_attributes(_ctx: &Context, input: SetSmsAttributesInput) -> Result<Empty, AwsError> {
    for (k, v) in &input.attributes {
        if !SETTABLE.contains(&k.as_str()) {
            return Err(invalid(format!("Invalid parameter: {k}")));
        }
        if k == "DefaultSMSType" && v != "Promotional" && v != "Transactional" {
            return Err(invalid(format!(
                "Invalid parameter: DefaultSMSType Reason: {v} is not valid"
            )));
        }
        if k == "MonthlySpendLimit" && v.parse::<u64>().is_err() {
            return Err(invalid(
                "Invalid parameter: MonthlySpendLimit Reason: must be a whole number",
            ));
        }
    }
    SMS_ATTRIBUTES.update("account", |a| {
        let mut a = a.unwrap_or_default();
        a.extend(input.attributes);
        Ok(a)
    })?;
    Ok(Empty {})
}

#[derive(Deserialize)]
pub struct GetSmsAttributesInput {
    #[serde(default)]
    attributes: Vec<String>,
}

#[derive(Serialize)]
pub struct GetSmsAttributesOutput {
    attributes: BTreeMap<String, String>,
}

pub fn get_sms_attributes(
    _ctx: &Context,
    input: GetSmsAttributesInput,
) -> Result<GetSmsAttributesOutput, AwsError> {
    let stored = SMS_ATTRIBUTES.get("account")?.unwrap_or_default();
    let attributes = if input.attributes.is_empty() {
        stored
    } else {
        stored
            .into_iter()
            .filter(|(k, _)| input.attributes.contains(k))
            .collect()
    };
    Ok(GetSmsAttributesOutput { attributes })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneNumberInput {
    phone_number: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OptedOutOutput {
    is_opted_out: bool,
}

pub fn check_if_phone_number_is_opted_out(
    _ctx: &Context,
    input: PhoneNumberInput,
) -> Result<OptedOutOutput, AwsError> {
    if !valid_phone(&input.phone_number) {
        return Err(invalid("Invalid parameter: PhoneNumber"));
    }
    Ok(OptedOutOutput {
        is_opted_out: OPTED_OUT.contains(&input.phone_number),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListOptedOutInput {
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListOptedOutOutput {
    phone_numbers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn list_phone_numbers_opted_out(
    _ctx: &Context,
    input: ListOptedOutInput,
) -> Result<ListOptedOutOutput, AwsError> {
    let page = OPTED_OUT
        .page(&Scan::all(), input.next_token.as_deref(), 100)
        .map_err(|_| invalid("Invalid parameter: nextToken"))?;
    Ok(ListOptedOutOutput {
        phone_numbers: page.items.into_iter().map(|(k, _)| k).collect(),
        next_token: page.next_token,
    })
}

pub fn opt_in_phone_number(_ctx: &Context, input: PhoneNumberInput) -> Result<Empty, AwsError> {
    if !valid_phone(&input.phone_number) {
        return Err(invalid("Invalid parameter: PhoneNumber"));
    }
    OPTED_OUT.delete(&input.phone_number);
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateSandboxInput {
    phone_number: String,
    #[allow(dead_code)]
    language_code: Option<String>,
}

pub fn create_sms_sandbox_phone_number(
    _ctx: &Context,
    input: CreateSandboxInput,
) -> Result<Empty, AwsError> {
    if !valid_phone(&input.phone_number) {
        return Err(invalid("Invalid parameter: PhoneNumber"));
    }
    let otp = format!("{:06}", rand::below(1_000_000));
    SANDBOX.put(
        &input.phone_number,
        &SandboxNumber {
            phone_number: input.phone_number.clone(),
            status: "Pending".into(),
            otp: otp.clone(),
        },
    )?;
    inspect::record(&Delivery {
        protocol: "sms".into(),
        endpoint: input.phone_number,
        message_id: ids::uuid(),
        kind: "SMSSandboxVerification".into(),
        message: format!("Your verification code is {otp}"),
        ..Default::default()
    })?;
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifySandboxInput {
    phone_number: String,
    one_time_password: String,
}

fn sandbox_missing() -> AwsError {
    AwsError::new(
        "ResourceNotFound",
        "Phone number does not exist in the sandbox",
    )
    .with_status(404)
}

pub fn verify_sms_sandbox_phone_number(
    _ctx: &Context,
    input: VerifySandboxInput,
) -> Result<Empty, AwsError> {
    let mut n = SANDBOX
        .get(&input.phone_number)?
        .ok_or_else(sandbox_missing)?;
    if n.status != "Verified" {
        if n.otp != input.one_time_password {
            return Err(
                AwsError::new("VerificationException", "Invalid one-time password")
                    .with_status(400),
            );
        }
        n.status = "Verified".into();
        SANDBOX.put(&input.phone_number, &n)?;
    }
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteSandboxInput {
    phone_number: String,
}

pub fn delete_sms_sandbox_phone_number(
    _ctx: &Context,
    input: DeleteSandboxInput,
) -> Result<Empty, AwsError> {
    if !SANDBOX.delete(&input.phone_number) {
        return Err(sandbox_missing());
    }
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PagedInput {
    next_token: Option<String>,
    max_results: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SandboxView {
    phone_number: String,
    status: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSandboxOutput {
    phone_numbers: Vec<SandboxView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn list_sms_sandbox_phone_numbers(
    _ctx: &Context,
    input: PagedInput,
) -> Result<ListSandboxOutput, AwsError> {
    let limit = input.max_results.unwrap_or(100);
    if !(1..=100).contains(&limit) {
        return Err(invalid("Invalid parameter: MaxResults"));
    }
    let page = SANDBOX
        .page(&Scan::all(), input.next_token.as_deref(), limit)
        .map_err(|_| invalid("Invalid parameter: NextToken"))?;
    Ok(ListSandboxOutput {
        phone_numbers: page
            .items
            .into_iter()
            .map(|(_, n)| SandboxView {
                phone_number: n.phone_number,
                status: n.status,
            })
            .collect(),
        next_token: page.next_token,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SandboxStatusOutput {
    is_in_sandbox: bool,
}

/// New accounts start in the SMS sandbox, as in AWS.
pub fn get_sms_sandbox_account_status(
    _ctx: &Context,
    _input: Empty,
) -> Result<SandboxStatusOutput, AwsError> {
    Ok(SandboxStatusOutput {
        is_in_sandbox: true,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OriginationNumbersOutput {
    phone_numbers: Vec<serde_json::Value>,
}

/// The gateway owns no origination numbers: always an empty list.
pub fn list_origination_numbers(
    _ctx: &Context,
    input: PagedInput,
) -> Result<OriginationNumbersOutput, AwsError> {
    if let Some(m) = input.max_results
        && !(1..=30).contains(&m)
    {
        return Err(AwsError::new("ValidationException", "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 30").with_status(400));
    }
    let _ = input.next_token;
    Ok(OriginationNumbersOutput {
        phone_numbers: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers() {
        assert!(valid_phone("+15555550100"));
        assert!(valid_phone("15555550100"));
        assert!(!valid_phone("+0123"));
        assert!(!valid_phone("+1555abc"));
        assert!(!valid_phone("+1234567890123456"));
    }
}
