//! Table-driven tests of opaque value hashing (reference section 3.3, decision D6).

use super::{OpaqueFields, hash_resource, opaque};
use crate::model::{RawJson, Resource};

fn raw(text: &str) -> RawJson {
    RawJson::new(text).expect("valid JSON")
}

/// Hashes `input` as a properties document and returns the new text, or the input unchanged.
fn hashed(input: &str, names: &[&str]) -> String {
    let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    match opaque::hash_properties(&raw(input), &names, "Properties").expect("hashes") {
        Some(out) => out.as_str().to_owned(),
        None => input.to_owned(),
    }
}

fn check(input: &str, expected: &str) {
    assert_eq!(hashed(input, &[]), expected, "input {input}");
}

fn envelope(value: &str) -> String {
    format!(r#"{{"P":{{"$value":{value},"$visibility":"Opaque"}}}}"#)
}

fn marked(value: &str) -> String {
    format!(r#"{{"P":{{"$value":{value},"$visibility":"Opaque","$hashed":true}}}}"#)
}

#[test]
fn go_vectors() {
    let vectors = [
        (r#""secret""#, "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"),
        ("42", "73475cb40a568e8da8a045ced110137e159f890ac4da883b6b17dc651b3a8049"),
        ("true", "b5bea41b6c623f7c09f1bf24dcae58ebab3c0cdd90ad966bc43a45b44867e12b"),
        ("3.5", "8a199b120cf400d69c300e1dd6eacdc8b0002353e3044bbab21e0125b32c9fd6"),
        ("1000000", "afbb41aa5cf9f0159e2f9d918e91a6b97e83ba9beaa4b53b90389957a431f21d"),
        (r#"{"b":"x","a":1}"#, "707cf642a7ac3acbb4a6d0c943f0c19891620bd593a6aca49972f181956995a7"),
        (r#"["x",1]"#, "1c8477c57db4be8e2df2920a1d8f686a3fbd5ab4184040ae93ce090c6dbcaccd"),
        ("123456", "8d969eef6ecad3c29a3a629280e686cf0c3f5d5a86aff3ca12020c923adc6c92"),
        ("1234567", "7a7203c975c77ad84bf03dedb32f5164ac709840d3250d7d8beea0fb07ffdcaa"),
        ("100000", "3bb78535cc9555ff19fe3556aaa41c78a0a45c64d49ba2bc564507648a8e77a1"),
        ("0.0001", "e539aebac7fd2ed8aba8854fedeaa65436962f8ee1c82341b394698f085b6496"),
        ("0.00001", "5a9530d3c6d5faad6ba8afe16fb8e438df23865128370b2ec14ef622bb5f2ec9"),
        ("-2", "cf3bae39dd692048a8bf961182e6a34dfd323eeb0748e162eaf055107f1cb873"),
        ("1.0", "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"),
        ("1e21", "241c4643fa70b1dcde1205b71be4e3bebb17e9f880c8e1a33d0ead6c27271d3c"),
        (
            "12345678901234567890",
            "db45f81ba08560c799167fc829d04e629c867f4de4c8a4853b82ed6e746450e7",
        ),
        ("false", "fcbcf165908dd18a9e49f7ff27810176db8e9f63b4352213741664245224f8aa"),
        (
            r#"{"a":{"c":null,"b":[1,2.5]}}"#,
            "4987685dd36347cf8672be1448bfbfaece60ee8116bc6fbe518c0f1513b9f499",
        ),
    ];
    for (value, digest) in vectors {
        check(&envelope(value), &marked(&format!("\"{digest}\"")));
    }
}

#[test]
fn empty_and_null_values() {
    check(&envelope(r#""""#), &marked(r#""""#));
    check(&envelope("null"), &marked("null"));
    // An absent $value is not added (the Go artefact), but the envelope is marked.
    check(r#"{"P":{"$visibility":"Opaque"}}"#, r#"{"P":{"$visibility":"Opaque","$hashed":true}}"#);
}

#[test]
fn marker_makes_hashing_idempotent() {
    let once = hashed(&envelope(r#""secret""#), &[]);
    assert_eq!(hashed(&once, &[]), once);
    // A 64-hex plaintext without the marker is still hashed (no hex heuristic).
    let hex = format!("\"{}\"", "a".repeat(64));
    assert_ne!(hashed(&envelope(&hex), &[]), marked(&hex));
}

#[test]
fn every_depth_and_array_elements() {
    let secret = r#"{"$value":"secret","$visibility":"Opaque"}"#;
    let digest = r#"{"$value":"2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b","$visibility":"Opaque","$hashed":true}"#;
    let cases = [
        (
            format!(r#"{{"a":{{"b":{{"c":{secret}}}}}}}"#),
            format!(r#"{{"a":{{"b":{{"c":{digest}}}}}}}"#),
        ),
        (format!(r#"{{"a":[{secret},1]}}"#), format!(r#"{{"a":[{digest},1]}}"#)),
        (format!(r#"{{"a":[[{secret}]]}}"#), format!(r#"{{"a":[[{digest}]]}}"#)),
        (format!(r#"{{"a":[{{"k":{secret}}}]}}"#), format!(r#"{{"a":[{{"k":{digest}}}]}}"#)),
    ];
    for (input, expected) in cases {
        check(&input, &expected);
    }
}

#[test]
fn only_changed_paths_are_reencoded() {
    // Whitespace, number spelling and key order outside the envelope's path are kept.
    let input = r#"{ "z" : 2.50 , "a":{"x": [1, 2], "s":{"$value":"secret","$visibility":"Opaque","$strategy":"SetOnce"}}, "b" : true }"#;
    let expected = r#"{"z":2.50,"a":{"x":[1, 2],"s":{"$value":"2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b","$visibility":"Opaque","$strategy":"SetOnce","$hashed":true}},"b":true}"#;
    check(input, expected);
}

#[test]
fn keys_on_a_rewritten_path_are_escaped_as_go_escapes_them() {
    // Keys Go escapes (`<`, `>`, `&`, a quote, U+2028) and keys it writes as they are.
    let input = r#"{"a<b":{"s":{"$value":"secret","$visibility":"Opaque"}},"q\"\u2028é":[{"$value":"secret","$visibility":"Opaque"}],"plain key":1}"#;
    let digest = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b";
    let envelope = format!(r#"{{"$value":"{digest}","$visibility":"Opaque","$hashed":true}}"#);
    let expected =
        format!(r#"{{"a\u003cb":{{"s":{envelope}}},"q\"\u2028é":[{envelope}],"plain key":1}}"#);
    check(input, &expected);
}

#[test]
fn documents_without_envelopes_are_untouched() {
    for input in [
        r#"{ "a" : 1.50, "b": "<&>" }"#,
        r#"{"$visibility":"Opaque","$value":"top-level is not an envelope"}"#,
        r#"{"a":{"$visibility":"Clear","$value":"x"}}"#,
        r#"{"a":{"$visibility":"opaque","$value":"x"}}"#,
        "null",
        "[]",
    ] {
        check(input, input);
    }
}

#[test]
fn opaque_names_hash_bare_values() {
    assert_eq!(
        hashed(r#"{"MasterUserPassword":"secret","Engine":"pg"}"#, &["MasterUserPassword"]),
        r#"{"MasterUserPassword":{"$value":"2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b","$visibility":"Opaque","$hashed":true},"Engine":"pg"}"#
    );
    // Null stays bare; an existing envelope is hashed in place.
    assert_eq!(
        hashed(r#"{"MasterUserPassword":null}"#, &["MasterUserPassword"]),
        r#"{"MasterUserPassword":null}"#
    );
}

fn resource(resource_type: &str, properties: &str, patch: Option<&str>) -> Resource {
    Resource {
        resource_type: resource_type.to_owned(),
        group: "kept".to_owned(),
        properties: Some(raw(properties)),
        patch_document: patch.map(raw),
        ..Resource::default()
    }
}

#[test]
fn patch_documents_are_hashed_structurally() {
    let mut r = resource(
        "AWS::RDS::DBInstance",
        r#"{"Secret":{"$value":"secret","$visibility":"Opaque"},"Name":"secret"}"#,
        Some(
            r#"[{"op":"replace","path":"/Secret","value":"secret"},{"op":"replace","path":"/Name","value":"secret"},{"op":"add","path":"/MasterUserPassword","value":42},{"op":"remove","path":"/Old"},{"op":"add","path":"/X","value":{"$value":"secret","$visibility":"Opaque"}}]"#,
        ),
    );
    assert!(hash_resource(&mut r, &OpaqueFields::default()).expect("hashes"));
    let patch = r.patch_document.as_ref().expect("patch").as_str().to_owned();
    let s = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b";
    let n42 = "73475cb40a568e8da8a045ced110137e159f890ac4da883b6b17dc651b3a8049";
    assert_eq!(
        patch,
        format!(
            r#"[{{"op":"replace","path":"/Secret","value":{{"$value":"{s}","$visibility":"Opaque","$hashed":true}}}},{{"op":"replace","path":"/Name","value":"secret"}},{{"op":"add","path":"/MasterUserPassword","value":{{"$value":"{n42}","$visibility":"Opaque","$hashed":true}}}},{{"op":"remove","path":"/Old"}},{{"op":"add","path":"/X","value":{{"$value":"{s}","$visibility":"Opaque","$hashed":true}}}}]"#
        )
    );
    // The non-secret op with the same content is untouched, the group is kept.
    assert_eq!(r.group, "kept");
    assert!(r.properties.as_ref().expect("props").as_str().contains(r#""Name":"secret""#));
    // Idempotent.
    let before = r.clone();
    assert!(!hash_resource(&mut r, &OpaqueFields::default()).expect("hashes"));
    assert_eq!(r, before);
}

#[test]
fn resources_without_secrets_are_untouched() {
    let mut r = resource(
        "AWS::S3::Bucket",
        r#"{ "BucketName" : "b" }"#,
        Some(r#"[ {"op":"add","path":"/BucketName","value":"b"} ]"#),
    );
    let before = r.clone();
    assert!(!hash_resource(&mut r, &OpaqueFields::default()).expect("hashes"));
    assert_eq!(r, before);
}

#[test]
fn read_only_properties_are_hashed_too() {
    let mut r = resource("AWS::S3::Bucket", "{}", None);
    r.read_only_properties = Some(raw(&envelope("42")));
    assert!(hash_resource(&mut r, &OpaqueFields::empty()).expect("hashes"));
    assert_eq!(
        r.read_only_properties.as_ref().map(RawJson::as_str),
        Some(
            marked("\"73475cb40a568e8da8a045ced110137e159f890ac4da883b6b17dc651b3a8049\"").as_str()
        )
    );
}

/// JSON text with envelopes (hashed or not, their keys sometimes escaped) at any depth,
/// among ordinary values.
fn json_with_envelopes() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let scalar = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        any::<i32>().prop_map(|n| n.to_string()),
        "[a-z ]{0,6}".prop_map(|s| format!("\"{s}\"")),
        Just("1e6".to_owned()),
    ];
    scalar.prop_recursive(4, 48, 5, |inner| {
        let key =
            prop_oneof![Just("A".to_owned()), Just("B".to_owned()), Just("Secret".to_owned())];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((key, inner.clone()), 0..4).prop_map(|m| {
                let members: Vec<String> = m.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                format!("{{{}}}", members.join(","))
            }),
            (inner, 0..4u8).prop_map(|(v, form)| match form {
                0 => format!(r#"{{"$value":{v},"$visibility":"Opaque"}}"#),
                1 => format!(r#"{{"$visibility":"Opaque","$value":{v},"$hashed":true}}"#),
                2 => format!(r#"{{"$value":{v},"$visibilit\u0079":"Opaque"}}"#),
                _ => format!(r#"{{"$value":{v},"$visibility":"Opaqu\u0065","x":1}}"#),
            }),
        ]
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 1024,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// Parsing only the values on the way to an envelope hashes exactly what a whole parse
    /// hashes, top-level names included.
    #[test]
    fn prop_pruned_parse_hashes_as_a_whole_parse(
        text in json_with_envelopes(),
        top in proptest::collection::vec(json_with_envelopes(), 0..3),
        named in proptest::bool::ANY,
    ) {
        let members: Vec<String> =
            top.iter().enumerate().map(|(i, v)| format!("\"K{i}\":{v}")).collect();
        let document = format!("{{\"Secret\":{text},{}\"Z\":0}}", members.iter().map(|m| format!("{m},")).collect::<String>());
        let input = raw(&document);
        let names: Vec<String> = if named { vec!["Secret".to_owned(), "K1".to_owned()] } else { Vec::new() };
        let pruned = opaque::hash_properties(&input, &names, "Properties").expect("hashes");
        let whole = opaque::hash_properties_parsed_whole(&input, &names).expect("hashes");
        proptest::prop_assert_eq!(pruned, whole);
    }
}
