//! JSON compatibility with the Go agent: Go-shaped documents in, the same documents out.

use persister_core::codec::{self, decode_command, encode_command};
use persister_core::{
    CodecError, CommandKind, CommandState, FormaCommand, Operation, OperationErrorCode,
    PluginOperation, RawJson, ResourceUpdateState, Timestamp,
};

const NEW: &str = include_str!("fixtures/new_command.json");
const OLD: &str = include_str!("fixtures/old_command.json");
const HEAD: &str = include_str!("fixtures/head_command.json");

fn decode(json: &str) -> FormaCommand {
    decode_command(json.as_bytes()).expect("fixture decodes")
}

/// Stores `command` the way the persister does (body, head and each resource update alone),
/// reads it back the way the persister does, and encodes the result whole.
fn through_the_split(command: &FormaCommand) -> String {
    let body = codec::encode_body(command).expect("body encodes");
    let head = codec::encode_head(command).expect("head encodes");
    let rows: Vec<String> = command
        .resource_updates
        .iter()
        .map(|ru| codec::encode_resource_update(ru).expect("resource update encodes"))
        .collect();
    let mut back = codec::decode_body(body.as_bytes()).expect("body decodes");
    assert!(back.resource_updates.is_empty(), "the body holds no resource updates");
    codec::decode_head(head.as_bytes()).expect("head decodes").apply_to(&mut back);
    back.resource_updates = rows
        .iter()
        .map(|row| codec::decode_resource_update(row.as_bytes()).expect("resource update decodes"))
        .collect();
    encode_command(&back).expect("encodes")
}

#[test]
fn every_fixture_round_trips_through_the_stored_split() {
    for (name, fixture) in [("new", NEW), ("old", OLD), ("head", HEAD)] {
        let command = decode(fixture);
        let whole = encode_command(&command).expect("encodes");
        assert_eq!(through_the_split(&command), whole, "fixture {name}");
    }
}

#[test]
fn go_written_documents_reencode_byte_for_byte() {
    for fixture in [NEW, OLD] {
        let command = decode(fixture);
        assert_eq!(encode_command(&command).expect("encodes"), fixture);
    }
}

/// A Go-written command whose typed strings hold what Go escapes beyond JSON (`<`, `>`, `&`,
/// U+2028, U+2029), with `properties` as the raw `Properties` value.
fn go_escaped_command(properties: &str) -> String {
    let schema = r#"{"Identifier":"","Tags":"","Fields":null,"Nonprovisionable":false,"Hints":null,"Discoverable":false,"Extractable":false}"#;
    let zero = r#"0001-01-01T00:00:00Z"#;
    format!(
        concat!(
            r#"{{"ID":"2qH","Description":{{"Text":"a \u003c b \u0026 c \u003e d"}},"State":"InProgress","#,
            r#""StartTs":"2025-12-19T23:51:57.123Z","ModifiedTs":"2025-12-19T23:51:57.123Z","#,
            r#""ResourceUpdates":[{{"Resource":{{"Label":"web\u0026api","Type":"AWS::S3::Bucket","Stack":"s","Target":"t","#,
            r#""Schema":{schema},"Properties":{properties},"Ksuid":"k1"}},"#,
            r#""ResourceTarget":{{"Label":"t","Namespace":"aws","Discoverable":false}},"#,
            r#""ExistingResource":{{"Label":"","Type":"","Stack":"","Target":"","Schema":{schema},"Properties":null}},"#,
            r#""ExistingTarget":{{"Label":"","Namespace":"","Discoverable":false}},"Operation":"create","MetaData":null,"#,
            r#""State":"InProgress","StartTs":"{zero}","ModifiedTs":"{zero}","Retries":0,"Remaining":0,"Version":"","#,
            r#""MostRecentProgressResult":{{"Operation":"Create","OperationStatus":"InProgress","RequestID":"r1","#,
            r#""NativeID":"","ResourceType":"AWS::S3::Bucket","StartTs":"{zero}","ModifiedTs":"{zero}","#,
            r#""StatusMessage":"denied: \u003cAccessDenied\u003e \u2028 next \u2029"}},"ProgressResult":null,"#,
            r#""ReferenceLabels":{{"a\u0026b":"\u003cx\u003e"}}}}],"#,
            r#""Config":{{"Mode":"reconcile","Force":false,"Simulate":false}},"Command":"apply","ClientId":"c\u003e"}}"#
        ),
        schema = schema,
        properties = properties,
        zero = zero
    )
}

#[test]
fn go_escaped_strings_reencode_byte_for_byte_and_raw_values_stay_as_they_are() {
    // Go's escapes in typed strings and in raw values: the same bytes out.
    let go = go_escaped_command(r#"{"Policy":"\u003cxml\u003e \u0026"}"#);
    let command = decode(&go);
    assert_eq!(command.description.as_ref().map(|d| d.text.as_str()), Some("a < b & c > d"));
    assert_eq!(command.client_id, "c>");
    let ru = &command.resource_updates[0];
    assert_eq!(ru.resource.label, "web&api");
    assert_eq!(
        ru.most_recent_progress_result.status_message,
        "denied: <AccessDenied> \u{2028} next \u{2029}"
    );
    assert_eq!(encode_command(&command).expect("encodes"), go);
    // A raw value written by someone else, with literal `<` and `&`: kept byte for byte (D11),
    // while the typed strings around it are still escaped as Go escapes them.
    let other = go_escaped_command(r#"{ "Policy" : "<xml> &" }"#);
    assert_eq!(encode_command(&decode(&other)).expect("encodes"), other);
}

#[test]
fn new_shape_fields() {
    let c = decode(NEW);
    assert_eq!(c.id, "2qHAAAAAAAAAAAAAAAAAAAAAAA1");
    assert!(c.forma.is_none());
    assert_eq!(c.description.as_ref().map(|d| d.text.as_str()), Some("deploy db"));
    assert_eq!(c.state, CommandState::InProgress);
    assert_eq!(c.command, CommandKind::Apply);
    assert_eq!(c.client_id, "cli-1");
    assert_eq!(c.resource_updates.len(), 2);
    let db = &c.resource_updates[0];
    assert_eq!(db.operation, Operation::Create);
    assert_eq!(db.state, ResourceUpdateState::NotStarted);
    assert!(db.start_ts.is_zero());
    assert_eq!(db.remaining, 3);
    // `MetaData` has no omitempty: `null` and nil encode alike, so `null` reads back as nil.
    assert!(db.metadata.is_none());
    assert!(db.progress_result.is_none());
    // Raw JSON keeps the number spelling.
    assert!(db.resource.properties.as_ref().expect("properties").as_str().contains("20.50"));
    let bucket = &c.resource_updates[1];
    assert_eq!(bucket.remaining, -1);
    assert_eq!(bucket.resource.group, "grp");
    assert!(bucket.resource.managed);
    assert_eq!(bucket.most_recent_progress_result.operation, PluginOperation::Delete);
    assert_eq!(bucket.most_recent_progress_result.error_code, OperationErrorCode::NotFound);
    assert_eq!(bucket.most_recent_progress_result.attempts, 2);
    assert_eq!(bucket.modified_ts.to_string(), "2025-12-19T23:51:57.123456789+07:00");
    assert_eq!(c.target_updates.len(), 1);
    assert!(c.target_updates[0].existing_target.is_some());
}

#[test]
fn old_shape_keeps_forma() {
    let c = decode(OLD);
    let forma = c.forma.as_ref().expect("Forma");
    assert_eq!(forma.resources.len(), 1);
    assert!(c.description.is_none());
    assert_eq!(c.start_ts.to_string(), "2025-12-04T09:07:19.5-08:00");
    assert_eq!(c.command, CommandKind::Destroy);
}

#[test]
fn unknown_fields_survive_a_rewrite() {
    let c = decode(HEAD);
    assert_eq!(c.extra.get("SubjectName").map(RawJson::as_str), Some("\"alice\""));
    assert_eq!(c.resource_updates[0].extra.get("IsCascade").map(RawJson::as_str), Some("true"));
    let again = decode(&encode_command(&c).expect("encodes"));
    assert_eq!(again, c);
    let text = encode_command(&again).expect("encodes");
    for key in ["\"Subject\":\"user:1\"", "\"IsCascade\":true", "\"FailureReason\":\"\""] {
        assert!(text.contains(key), "{key} kept");
    }
}

#[test]
fn zero_values_encode_as_go_does() {
    let text = encode_command(&FormaCommand::default()).expect("encodes");
    assert_eq!(
        text,
        r#"{"ID":"","State":"","StartTs":"0001-01-01T00:00:00Z","ModifiedTs":"0001-01-01T00:00:00Z","Config":{"Mode":"","Force":false,"Simulate":false},"Command":""}"#
    );
    let ru = persister_core::codec::encode_resource_update(&Default::default()).expect("encodes");
    assert!(ru.contains(r#""ExistingResource":{"Label":"","Type":"","Stack":"","Target":"","Schema":{"Identifier":"","Tags":"","Fields":null,"Nonprovisionable":false,"Hints":null,"Discoverable":false,"Extractable":false},"Properties":null}"#));
    assert!(ru.contains(r#""MetaData":null"#));
    assert!(ru.contains(r#""ProgressResult":null"#));
    assert!(ru.contains(r#""MostRecentProgressResult":{"Operation":"","OperationStatus":"","RequestID":"","NativeID":"","ResourceType":"","StartTs":"0001-01-01T00:00:00Z","ModifiedTs":"0001-01-01T00:00:00Z"}"#));
}

#[test]
fn timestamps_trim_fraction_zeros() {
    for text in [
        "2025-12-19T23:51:57Z",
        "2025-12-19T23:51:57.12Z",
        "2025-12-19T23:51:57.000000001Z",
        "2025-12-04T09:07:19.5-08:00",
        "0001-01-01T00:00:00Z",
    ] {
        let ts = Timestamp::parse(text).expect("parses");
        assert_eq!(ts.to_string(), text);
    }
    assert!(
        Timestamp::parse("2025-12-19T23:51:57.120000Z")
            .expect("parses")
            .to_string()
            .ends_with("57.12Z")
    );
}

#[test]
fn an_invalid_timestamp_is_a_typed_error_naming_the_text() {
    let err = Timestamp::parse("2025-13-40T25:00:00Z").expect_err("not a date");
    assert_eq!(err.text, "2025-13-40T25:00:00Z");
    assert!(err.to_string().contains("\"2025-13-40T25:00:00Z\""), "{err}");
    assert!(std::error::Error::source(&err).is_some(), "the parser's reason is the source");
}

fn decode_err(json: &str) -> String {
    match decode_command(json.as_bytes()) {
        Err(CodecError::Decode { message, .. }) => message,
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[test]
fn unknown_enum_strings_are_typed_errors_naming_the_field() {
    let message = decode_err(r#"{"ID":"x","State":"Exploded"}"#);
    assert!(message.contains("State") && message.contains("Exploded"), "{message}");
    let message = decode_err(r#"{"ID":"x","ResourceUpdates":[{"Operation":"upsert"}]}"#);
    assert!(message.contains("ResourceUpdates") && message.contains("Operation"), "{message}");
}

#[test]
fn go_decoding_rules() {
    // Case-insensitive keys, exact match preferred; last duplicate wins; null leaves zero.
    let c = decode(r#"{"id":"a","ID":"b","clientid":"c","State":null,"ResourceUpdates":null}"#);
    assert_eq!(c.id, "b");
    assert_eq!(c.client_id, "c");
    assert_eq!(c.state, CommandState::Unspecified);
    assert!(c.resource_updates.is_empty());
    let c = decode(r#"{"ID":"a","ID":"z"}"#);
    assert_eq!(c.id, "z");
    // A repeated key whose last value is null: a scalar or struct keeps the earlier value, a
    // slice or map becomes nil.
    let c = decode(concat!(
        r#"{"ID":"a","ID":null,"State":"Success","state":null,"Config":{"Mode":"patch"},"Config":null,"#,
        r#""ResourceUpdates":[{"Retries":3,"Retries":null,"Operation":"create","ReferenceLabels":{"a":"b"},"ReferenceLabels":null}],"#,
        r#""TargetUpdates":[{"State":"Failed"}],"TargetUpdates":null}"#
    ));
    assert_eq!((c.id.as_str(), c.state), ("a", CommandState::Success));
    assert_eq!(c.config.mode, persister_core::ApplyMode::Patch);
    assert!(c.target_updates.is_empty());
    let ru = &c.resource_updates[0];
    assert_eq!((ru.retries, ru.operation), (3, Operation::Create));
    assert!(ru.reference_labels.is_empty());
    // Raw JSON keeps whitespace exactly.
    let c = decode(r#"{"ResourceUpdates":[{"Resource":{"Properties": { "a" : [1, 2.50] }}}]}"#);
    assert_eq!(
        c.resource_updates[0].resource.properties.as_ref().map(RawJson::as_str),
        Some(r#"{ "a" : [1, 2.50] }"#)
    );
}

#[test]
fn malformed_documents_are_errors_not_panics() {
    for input in
        ["", "{", "[]", "null", r#"{"ResourceUpdates":{}}"#, r#"{"StartTs":"yesterday"}"#, "\u{0}"]
    {
        // A stored command is an object: even `null` (a no-op for Go) is refused.
        let result = decode_command(input.as_bytes());
        assert!(matches!(result, Err(CodecError::Decode { .. })), "input {input:?}");
    }
}

#[test]
fn debug_output_hides_raw_values() {
    let c = decode(NEW);
    let debug = format!("{c:?}");
    assert!(!debug.contains("hunter2"));
    assert!(debug.contains("RawJson(<"));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 512,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// Any string in typed fields: the output is JSON that an independent parser reads back
    /// to the same string, it holds none of the characters Go escapes, and it decodes to the
    /// same command.
    #[test]
    fn prop_typed_strings_are_escaped_as_go_does(s in "\\PC*|[<>&\u{2028}\u{2029}\"\\\\\u{0}-\u{1f}a€😀]*") {
        let mut command = FormaCommand { id: s.clone(), client_id: s.clone(), ..FormaCommand::default() };
        command.description = Some(persister_core::Description { text: s.clone(), ..Default::default() });
        let text = encode_command(&command).expect("encodes");
        for c in ['<', '>', '&', '\u{2028}', '\u{2029}'] {
            proptest::prop_assert!(!text.contains(c), "{c:?} left in {text}");
        }
        let parsed: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        proptest::prop_assert_eq!(parsed["ID"].as_str(), Some(s.as_str()));
        // `Text` is omitempty.
        proptest::prop_assert_eq!(parsed["Description"]["Text"].as_str().unwrap_or(""), s.as_str());
        let back = decode(&text);
        proptest::prop_assert_eq!(&back, &command);
        proptest::prop_assert_eq!(encode_command(&back).expect("encodes"), text);
    }
}

#[test]
fn any_serializer_writes_the_model_as_the_codec_does() {
    for fixture in [NEW, OLD, HEAD] {
        let command = decode_command(fixture.as_bytes()).expect("decodes");
        let codec: serde_json::Value =
            serde_json::from_str(&encode_command(&command).expect("encodes")).expect("JSON");
        let serde_json_text = serde_json::to_string(&command).expect("serde_json writes it");
        let by_serde_json: serde_json::Value =
            serde_json::from_str(&serde_json_text).expect("serde_json wrote JSON");
        assert_eq!(by_serde_json, codec, "serde_json::to_string");
        let sonic_text = sonic_rs::to_string(&command).expect("sonic-rs writes it");
        let by_sonic: serde_json::Value =
            serde_json::from_str(&sonic_text).expect("sonic-rs wrote JSON");
        assert_eq!(by_sonic, codec, "sonic_rs::to_string outside the codec");
    }
    let raw = RawJson::new(r#"{ "b" : [1, 2.5, "x"], "a" : null }"#).expect("valid");
    assert_eq!(serde_json::to_string(&raw).expect("writes"), r#"{"b":[1,2.5,"x"],"a":null}"#);
}

/// A raw value is valid JSON whatever produced it: decoding refuses a document whose raw
/// value is not, so code that reads a `RawJson` never needs to validate it again.
#[test]
fn raw_values_are_validated_when_decoded() {
    let bad_values = [
        "tru",
        "01",
        r#""\x""#,
        "[1,]",
        r#"{"a":1,}"#,
        r#"{"a" 1}"#,
        "1.",
        "-",
        r#""a"#,
        "nul",
        r#"{"x":[1,{"b":tru}]}"#,
        r#"{"x":{"y":"\u12"}}"#,
        r#"[{"a":[[1e]]}]"#,
    ];
    for bad in bad_values {
        let doc = format!(r#"{{"ResourceUpdates":[{{"Resource":{{"Properties":{bad}}}}}]}}"#);
        let result = decode_command(doc.as_bytes());
        assert!(matches!(result, Err(CodecError::Decode { .. })), "raw value {bad}: {result:?}");
    }
}
