use super::*;

#[test]
fn member_names_become_snake_case_fields() {
    assert_eq!(field_ident("QueueURL"), "queue_url");
    assert_eq!(field_ident("MD5OfBody"), "md5_of_body");
    assert_eq!(field_ident("SSEKMSKeyId"), "ssekms_key_id");
    assert_eq!(field_ident("message"), "message");
    assert_eq!(field_ident("type"), "r#type");
    assert_eq!(field_ident("Self"), "self_");
    assert_eq!(
        field_ident("DBInstanceIdentifier"),
        "db_instance_identifier"
    );
}

#[test]
fn enum_values_become_pascal_case_variants() {
    assert_eq!(variant_ident("STANDARD_IA"), "StandardIa");
    assert_eq!(variant_ident("aws:kms"), "AwsKms");
    assert_eq!(variant_ident("AES256"), "Aes256");
    assert_eq!(variant_ident("SELF"), "SelfValue");
    assert_eq!(
        variant_ident("ApproximateNumberOfMessages"),
        "ApproximateNumberOfMessages"
    );
    assert_eq!(variant_ident("1"), "V1");
    assert_eq!(type_ident("__listOfString"), "ListOfString");
}

const MODEL: &str = r#"{
  "metadata": {"serviceId": "Demo", "apiVersion": "2024-01-01", "protocol": "json"},
  "operations": {
    "PutThing": {"name": "PutThing", "input": {"shape": "PutThingRequest"},
                 "output": {"shape": "PutThingResult"}, "errors": [{"shape": "ThingMissing"}]},
    "Ping": {"name": "Ping"}
  },
  "shapes": {
    "PutThingRequest": {"type": "structure", "required": ["Name", "Tags"], "members": {
      "Name": {"shape": "Name"}, "Tags": {"shape": "Tags"}, "Kind": {"shape": "Kind"},
      "When": {"shape": "Ts"}, "Body": {"shape": "Bytes", "streaming": true},
      "Attrs": {"shape": "Attrs"}, "Node": {"shape": "Node"}, "type": {"shape": "Name"}}},
    "PutThingResult": {"type": "structure", "members": {"Count": {"shape": "Long"}}},
    "ThingMissing": {"type": "structure", "members": {"message": {"shape": "Name"}},
                     "error": {"httpStatusCode": 404, "senderFault": true}, "exception": true},
    "Node": {"type": "structure", "members": {"Next": {"shape": "Node"}, "Kids": {"shape": "Nodes"}}},
    "Nodes": {"type": "list", "member": {"shape": "Node"}},
    "Name": {"type": "string", "min": 1, "max": 80},
    "Tags": {"type": "list", "member": {"shape": "Name"}},
    "Kind": {"type": "string", "enum": ["STANDARD_IA", "aws:kms", "Unknown"]},
    "Attrs": {"type": "map", "key": {"shape": "Kind"}, "value": {"shape": "Name"}},
    "Ts": {"type": "timestamp"},
    "Bytes": {"type": "blob"},
    "Long": {"type": "long"},
    "Unused": {"type": "structure", "members": {}}
  }
}"#;

#[test]
fn a_small_model_becomes_these_types() {
    let code = generate(MODEL, None, "::ministack_sdk", "demo.json").unwrap();
    let expect = [
        "pub struct PutThingRequest {",
        "    /// length 1..=80\n    #[serde(rename = \"Name\")]\n    pub name: String,",
        "    #[serde(rename = \"Tags\", default)]\n    pub tags: Vec<String>,",
        "    #[serde(rename = \"Kind\", default, skip_serializing_if = \"Option::is_none\")]\n    pub kind: Option<Kind>,",
        "pub when: Option<f64>,",
        "pub body: Option<::ministack_sdk::blobs::StreamingBlob>,",
        "pub attrs: Option<::std::collections::BTreeMap<Kind, String>>,",
        "pub r#type: Option<String>,",
        // Node contains itself directly (boxed), and through a list (not boxed).
        "pub next: Option<Box<Node>>,",
        "pub kids: Option<Vec<Node>>,",
        "        StandardIa = \"STANDARD_IA\",\n        AwsKms = \"aws:kms\",\n        UnknownValue = \"Unknown\",",
        "impl From<ThingMissing> for ::ministack_sdk::AwsError {",
        "::ministack_sdk::shapes::aws_error(\"ThingMissing\", true, &error)",
        "            message: Some(message.into()),",
        "pub type PutThingInput = PutThingRequest;",
        "pub type PutThingOutput = PutThingResult;",
        "pub type PingInput = ::ministack_sdk::Empty;",
        "pub const OPERATIONS: &[&str] = &[\n    \"Ping\",\n    \"PutThing\",\n];",
    ];
    for line in expect {
        assert!(code.contains(line), "missing {line:?} in\n{code}");
    }
    assert!(!code.contains("Unused"), "unreachable shapes are left out");
}

#[test]
fn operations_limit_the_shapes() {
    let only: BTreeSet<String> = ["Ping".to_string()].into();
    let code = generate(MODEL, Some(&only), "::ministack_sdk", "demo.json").unwrap();
    assert!(!code.contains("PutThingRequest"));
    assert!(
        code.contains("pub struct ThingMissing"),
        "error shapes always come"
    );
    let bad: BTreeSet<String> = ["Nope".to_string()].into();
    assert!(generate(MODEL, Some(&bad), "::ministack_sdk", "x").is_err());
}

/// Every bundled plugin's model generates, twice the same.
#[test]
fn every_plugin_model_generates_deterministically() {
    let plugins = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins");
    let mut count = 0;
    for entry in std::fs::read_dir(plugins).unwrap() {
        let model = entry.unwrap().path().join("model/service-2.json");
        if !model.exists() {
            continue;
        }
        let first = Codegen::new(&model).generate().unwrap();
        let second = Codegen::new(&model).generate().unwrap();
        assert_eq!(first, second, "{}", model.display());
        assert!(first.contains("pub const OPERATIONS"));
        count += 1;
    }
    assert!(count >= 5);
}

#[test]
fn unions_event_streams_documents_and_sparse_collections() {
    let model = r#"{
      "metadata": {"serviceId": "Demo", "apiVersion": "1"},
      "operations": {"Select": {"name": "Select", "input": {"shape": "In"}, "output": {"shape": "Out"}}},
      "shapes": {
        "In": {"type": "structure", "required": ["Choice"], "members": {
          "Choice": {"shape": "Choice"}, "Doc": {"shape": "Doc"}, "Sparse": {"shape": "Sparse"},
          "SparseMap": {"shape": "SparseMap"}, "Ratio": {"shape": "Ratio"}}},
        "Out": {"type": "structure", "members": {"Payload": {"shape": "Events"}}, "payload": "Payload"},
        "Choice": {"type": "structure", "union": true, "members": {"A": {"shape": "S"}, "B": {"shape": "N"}}},
        "Events": {"type": "structure", "eventstream": true, "members": {"Records": {"shape": "Rec"}, "End": {"shape": "End"}}},
        "Rec": {"type": "structure", "members": {"Payload": {"shape": "Bytes", "eventpayload": true}}, "event": true},
        "End": {"type": "structure", "members": {}, "event": true},
        "Doc": {"type": "structure", "members": {}, "document": true},
        "Sparse": {"type": "list", "member": {"shape": "S"}, "sparse": true},
        "SparseMap": {"type": "map", "key": {"shape": "S"}, "value": {"shape": "N"}, "sparse": true},
        "Ratio": {"type": "double"},
        "Bytes": {"type": "blob"},
        "S": {"type": "string"},
        "N": {"type": "integer"}
      }
    }"#;
    let code = generate(model, None, "::ministack_sdk", "demo.json").unwrap();
    for line in [
        "/// `Choice` (union: one member set).",
        "    pub a: Option<String>,\n",
        // A required union is still a plain field; its members are all optional.
        "    #[serde(rename = \"Choice\")]\n    pub choice: Choice,",
        "/// `Events` (event stream: one member set per event).",
        "    pub payload: Option<Vec<Events>>,",
        "    pub records: Option<Rec>,",
        "    pub sparse: Option<Vec<Option<String>>>,",
        "    pub sparse_map: Option<::std::collections::BTreeMap<String, Option<i32>>>,",
        "    pub ratio: Option<f64>,",
        // f64 inside: no Eq; integers and strings only: Eq.
        "#[derive(Debug, Clone, Default, PartialEq, ::serde::Serialize, ::serde::Deserialize)]\npub struct In {",
        "#[derive(Debug, Clone, Default, PartialEq, Eq, ::serde::Serialize, ::serde::Deserialize)]\npub struct Choice {",
    ] {
        assert!(code.contains(line), "missing {line:?} in\n{code}");
    }
}

#[test]
fn only_needed_derives_follow_the_direction_of_use() {
    let dir = std::env::temp_dir().join(format!("codegen-derives-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("service-2.json");
    std::fs::write(&model, MODEL).unwrap();
    let code = Codegen::new(&model)
        .only_needed_derives()
        .generate()
        .unwrap();
    let derive_of = |name: &str| {
        let at = code.find(&format!("pub struct {name} {{")).unwrap();
        code[..at].lines().last().unwrap().to_string()
    };
    assert!(derive_of("PutThingRequest").ends_with("::serde::Deserialize)]"));
    assert!(!derive_of("PutThingRequest").contains("Serialize"));
    assert!(derive_of("PutThingResult").ends_with("Eq, ::serde::Serialize)]"));
    assert!(derive_of("ThingMissing").ends_with("::serde::Serialize)]"));
    let both = Codegen::new(&model).generate().unwrap();
    assert!(both.contains("pub struct PutThingRequest {"));
    assert_ne!(code, both);
    let _ = std::fs::remove_dir_all(dir);
}
