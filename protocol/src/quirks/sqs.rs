//! SQS over awsQuery. SQS's model is awsJson 1.0 with `awsQueryCompatible`:
//! old SDKs still send `Action=SendMessage&QueueUrl=...` forms and read
//! `<SendMessageResponse>` XML. The json model has lost the query names
//! (`MessageAttribute.1.Name`, flattened `<Message>` results...), so this
//! table puts back the `locationName` / `flattened` traits of botocore's
//! last query-protocol SQS model (botocore 1.31.56). It is applied only to
//! the query view of the model (`ServiceModel::query_model`): the json
//! codec never sees these names.

use crate::model::Shape;
use crate::{Metadata, RequestHead};

pub(crate) fn is_sqs(meta: &Metadata) -> bool {
    meta.service_id.as_deref() == Some("SQS") || meta.target_prefix.as_deref() == Some("AmazonSQS")
}

/// SQS answers an unknown attribute name with `InvalidAttributeName`
/// ("Unknown Attribute X."), not a validation error; and the model types
/// ReceiveMessage's `AttributeNames` (message attributes such as
/// `SentTimestamp`) with the queue attribute enum. The plugin checks these
/// names itself.
pub(crate) fn open_enums(meta: &Metadata) -> &'static [&'static str] {
    if is_sqs(meta) {
        &["QueueAttributeName"]
    } else {
        &[]
    }
}

/// The query-era model's `xmlNamespace` (the json model has none).
pub(crate) fn query_namespace(meta: &Metadata) -> Option<&'static str> {
    is_sqs(meta).then_some("http://queue.amazonaws.com/doc/2012-11-05/")
}

/// Flattened lists: shape → item name (`AttributeName.1`, `<Message>`...).
const FLAT_LISTS: &[(&str, &str)] = &[
    ("AWSAccountIdList", "AWSAccountId"),
    ("ActionNameList", "ActionName"),
    ("AttributeNameList", "AttributeName"),
    ("BatchResultErrorEntryList", "BatchResultErrorEntry"),
    (
        "ChangeMessageVisibilityBatchRequestEntryList",
        "ChangeMessageVisibilityBatchRequestEntry",
    ),
    (
        "ChangeMessageVisibilityBatchResultEntryList",
        "ChangeMessageVisibilityBatchResultEntry",
    ),
    (
        "DeleteMessageBatchRequestEntryList",
        "DeleteMessageBatchRequestEntry",
    ),
    (
        "DeleteMessageBatchResultEntryList",
        "DeleteMessageBatchResultEntry",
    ),
    (
        "ListMessageMoveTasksResultEntryList",
        "ListMessageMoveTasksResultEntry",
    ),
    ("MessageAttributeNameList", "MessageAttributeName"),
    // Not in the query-era model (added later); named like its siblings.
    ("MessageSystemAttributeList", "MessageSystemAttributeName"),
    ("MessageList", "Message"),
    ("QueueUrlList", "QueueUrl"),
    (
        "SendMessageBatchRequestEntryList",
        "SendMessageBatchRequestEntry",
    ),
    (
        "SendMessageBatchResultEntryList",
        "SendMessageBatchResultEntry",
    ),
    ("TagKeyList", "TagKey"),
];

/// Lists that stay wrapped but name their items.
const LIST_ITEMS: &[(&str, &str)] = &[
    ("BinaryList", "BinaryListValue"),
    ("StringList", "StringListValue"),
];

/// Flattened maps: shape → (key name, value name).
const FLAT_MAPS: &[(&str, &str, &str)] = &[
    ("MessageBodyAttributeMap", "Name", "Value"),
    ("MessageBodySystemAttributeMap", "Name", "Value"),
    ("MessageSystemAttributeMap", "Name", "Value"),
    ("QueueAttributeMap", "Name", "Value"),
    ("TagMap", "Key", "Value"),
];

/// Structure members with a query name: (shape, member, name, flattened).
const MEMBERS: &[(&str, &str, &str, bool)] = &[
    ("CreateQueueRequest", "Attributes", "Attribute", false),
    ("CreateQueueRequest", "tags", "Tag", false),
    ("GetQueueAttributesResult", "Attributes", "Attribute", false),
    ("ListQueueTagsResult", "Tags", "Tag", false),
    ("TagQueueRequest", "Tags", "Tag", false),
    ("Message", "Attributes", "Attribute", false),
    ("Message", "MessageAttributes", "MessageAttribute", false),
    (
        "MessageAttributeValue",
        "StringListValues",
        "StringListValue",
        true,
    ),
    (
        "MessageAttributeValue",
        "BinaryListValues",
        "BinaryListValue",
        true,
    ),
    (
        "MessageSystemAttributeValue",
        "StringListValues",
        "StringListValue",
        true,
    ),
    (
        "MessageSystemAttributeValue",
        "BinaryListValues",
        "BinaryListValue",
        true,
    ),
    (
        "SendMessageBatchRequestEntry",
        "MessageAttributes",
        "MessageAttribute",
        false,
    ),
    (
        "SendMessageBatchRequestEntry",
        "MessageSystemAttributes",
        "MessageSystemAttribute",
        false,
    ),
    (
        "SendMessageRequest",
        "MessageAttributes",
        "MessageAttribute",
        false,
    ),
    (
        "SendMessageRequest",
        "MessageSystemAttributes",
        "MessageSystemAttribute",
        false,
    ),
    (
        "SetQueueAttributesRequest",
        "Attributes",
        "Attribute",
        false,
    ),
];

/// Puts the query-era traits back on one shape of the query view.
pub(crate) fn query_traits(shape: &mut Shape) {
    let name = shape.name.as_str();
    if let Some((_, item)) = FLAT_LISTS.iter().find(|(s, _)| *s == name) {
        shape.flattened = true;
        if let Some(m) = shape.member.as_deref_mut() {
            m.location_name = Some(item.to_string());
        }
    }
    if let Some((_, item)) = LIST_ITEMS.iter().find(|(s, _)| *s == name)
        && let Some(m) = shape.member.as_deref_mut()
    {
        m.location_name = Some(item.to_string());
    }
    if let Some((_, k, v)) = FLAT_MAPS.iter().find(|(s, _, _)| *s == name) {
        shape.flattened = true;
        if let Some(m) = shape.key.as_deref_mut() {
            m.location_name = Some(k.to_string());
        }
        if let Some(m) = shape.value.as_deref_mut() {
            m.location_name = Some(v.to_string());
        }
    }
    for (_, member, wire, flat) in MEMBERS.iter().filter(|(s, ..)| *s == name) {
        if let Some(m) = shape.members.iter_mut().find(|m| m.name == *member) {
            m.location_name = Some(wire.to_string());
            m.flattened |= *flat;
        }
    }
}

/// Some SDKs post to the queue URL and leave `QueueUrl` out of the form:
/// the path `/<account>/<queue>` names the queue.
pub(crate) fn queue_url_from_path(head: &RequestHead<'_>) -> Option<String> {
    let mut parts = head.path.trim_matches('/').split('/');
    let (Some(account), Some(queue), None) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    if account.is_empty() || queue.is_empty() || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let host = head
        .headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    Some(format!("http://{host}/{account}/{queue}"))
}

#[cfg(test)]
mod tests {
    use crate::http::{HeaderMap, HeaderValue, Method};
    use crate::{
        Protocol, RequestBody, RequestHead, ResponseBody, ServiceModel, decode_request,
        encode_response,
    };
    use serde_json::json;

    fn model() -> ServiceModel {
        ServiceModel::from_json(include_str!("../../tests/models/sqs.json")).unwrap()
    }

    fn decode(
        m: &ServiceModel,
        path: &str,
        headers: HeaderMap,
        body: &'static [u8],
    ) -> crate::Decoded {
        let head = RequestHead {
            method: &Method::POST,
            path,
            query: "",
            headers: &headers,
        };
        decode_request(
            m,
            &head,
            RequestBody::Bytes(bytes::Bytes::from_static(body)),
        )
        .unwrap()
    }

    fn form() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            "content-type",
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        h.insert("host", HeaderValue::from_static("localhost:4566"));
        h
    }

    #[test]
    fn query_forms_decode_with_the_query_era_names() {
        let m = model();
        assert!(m.metadata().protocols.contains(&Protocol::Query));
        let d = decode(
            &m,
            "/",
            form(),
            b"Action=SendMessage&Version=2012-11-05&QueueUrl=http%3A%2F%2Flocalhost%2F1%2Fq&MessageBody=hi\
              &MessageAttribute.1.Name=a&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=x",
        );
        assert_eq!(d.protocol, Protocol::Query);
        assert_eq!(
            d.input,
            json!({"QueueUrl": "http://localhost/1/q", "MessageBody": "hi",
                   "MessageAttributes": {"a": {"DataType": "String", "StringValue": "x"}}})
        );
        let d = decode(
            &m,
            "/000000000000/q",
            form(),
            b"Action=ReceiveMessage&AttributeName.1=All&MessageAttributeName.1=All&MaxNumberOfMessages=5",
        );
        assert_eq!(
            d.input,
            json!({"QueueUrl": "http://localhost:4566/000000000000/q", "AttributeNames": ["All"],
                   "MessageAttributeNames": ["All"], "MaxNumberOfMessages": 5})
        );
        let d = decode(
            &m,
            "/",
            form(),
            b"Action=SendMessageBatch&QueueUrl=u&SendMessageBatchRequestEntry.1.Id=a\
              &SendMessageBatchRequestEntry.1.MessageBody=b&SendMessageBatchRequestEntry.1.DelaySeconds=3",
        );
        assert_eq!(
            d.input,
            json!({"QueueUrl": "u", "Entries": [{"Id": "a", "MessageBody": "b", "DelaySeconds": 3}]})
        );
    }

    #[test]
    fn query_responses_use_the_query_era_names_and_json_is_untouched() {
        let m = model();
        let out = json!({"Messages": [{"MessageId": "m1", "Body": "b",
            "Attributes": {"SentTimestamp": "1"},
            "MessageAttributes": {"a": {"DataType": "String", "StringValue": "x"}}}]});
        let r = encode_response(&m, Protocol::Query, "ReceiveMessage", &out, "rid").unwrap();
        let ResponseBody::Bytes(b) = r.body else {
            panic!()
        };
        let xml = String::from_utf8(b).unwrap();
        assert!(xml.starts_with(
            "<ReceiveMessageResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><ReceiveMessageResult><Message>"
        ));
        assert!(xml.contains("<Attribute><Name>SentTimestamp</Name><Value>1</Value></Attribute>"));
        assert!(xml.contains(
            "<MessageAttribute><Name>a</Name><Value><StringValue>x</StringValue><DataType>String</DataType></Value></MessageAttribute>"
        ));
        // The json wire keeps the model's own names.
        let r = encode_response(&m, Protocol::Json, "ReceiveMessage", &out, "rid").unwrap();
        let ResponseBody::Bytes(b) = r.body else {
            panic!()
        };
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["Messages"][0]["Attributes"]["SentTimestamp"], "1");
    }
}
