//! Bad input on a SQLite file, continued: odd ids and labels, a 50 MB command, and a fuzz
//! property over the JSON codec (arbitrary bytes and mutations of a valid command), which is
//! the fuzzing that CI runs.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use persister_core::codec::{
    decode_body, decode_command, decode_head, decode_resource_update, encode_command,
    encode_resource_update,
};
use persister_core::{
    Ack, CommandKind, CommandState, CommandStore, Description, FormaCommand, ListFilter, Operation,
    Persister, ProgressResult, RawJson, Resource, ResourceCompletion, ResourceProgress,
    ResourceUpdate, ResourceUpdateState, Timestamp,
};
use persister_testkit::TempDb;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestError, TestRunner};

fn ts(seconds: i64) -> Timestamp {
    let base = Timestamp::parse("2026-02-01T10:00:00.123456789Z").expect("valid timestamp");
    Timestamp::from_datetime(base.datetime() + time::Duration::seconds(seconds))
}

/// A command `id` whose resource updates have KSUIDs `ksuids`, labels `label` and
/// `properties` (raw JSON).
fn command(id: &str, ksuids: &[String], label: &str, properties: &str) -> FormaCommand {
    let properties = RawJson::new(properties).expect("valid JSON");
    let resource_updates = ksuids
        .iter()
        .map(|ksuid| ResourceUpdate {
            resource: Resource {
                ksuid: ksuid.clone(),
                label: label.into(),
                resource_type: "AWS::S3::Bucket".into(),
                properties: Some(properties.clone()),
                ..Resource::default()
            },
            operation: Operation::Create,
            ..ResourceUpdate::default()
        })
        .collect();
    FormaCommand {
        id: id.into(),
        description: Some(Description { text: label.into(), ..Description::default() }),
        state: CommandState::NotStarted,
        start_ts: ts(0),
        modified_ts: ts(0),
        resource_updates,
        command: CommandKind::Apply,
        client_id: id.into(),
        ..FormaCommand::default()
    }
}

fn progress(id: &str, ksuid: &str) -> ResourceProgress {
    ResourceProgress {
        command_id: id.into(),
        resource_uri: format!("formae://{ksuid}#"),
        operation: Operation::Create,
        resource_start_ts: ts(1),
        resource_modified_ts: ts(2),
        resource_state: ResourceUpdateState::InProgress,
        progress: ProgressResult { modified_ts: ts(2), ..ProgressResult::default() },
        ..ResourceProgress::default()
    }
}

fn completion(id: &str, ksuid: &str) -> ResourceCompletion {
    ResourceCompletion {
        command_id: id.into(),
        resource_uri: format!("formae://{ksuid}#"),
        operation: Operation::Create,
        final_state: ResourceUpdateState::Success,
        resource_start_ts: ts(1),
        resource_modified_ts: ts(3),
        ..ResourceCompletion::default()
    }
}

/// Odd strings used as command id, client id, KSUID, label and description at once. None has
/// a `#`, which would end the KSUID inside a `formae://` URI.
fn odd_strings() -> Vec<(&'static str, String)> {
    vec![
        ("empty", String::new()),
        ("1 MB long", "x".repeat(1 << 20)),
        ("quotes", r#"'"`\"\\' OR '1'='1'; DROP TABLE forma_commands; --"#.to_owned()),
        ("NUL character", "a\0b\0".to_owned()),
        ("emoji", "🚀 déploiement 👩‍💻 \u{1F600}".to_owned()),
        ("control characters", "\n\t\r\u{7f}\u{1b}[31m\u{2028}".to_owned()),
    ]
}

#[tokio::test]
async fn odd_ids_and_labels_round_trip_byte_exact() {
    let db = TempDb::new("bad-sizes-odd");
    let store = db.open().await;
    for (what, s) in odd_strings() {
        let started = Instant::now();
        let ksuids = [s.clone(), format!("{s}-2")];
        let c = command(&s, &ksuids, &s, r#"{"Name":"n"}"#);
        let mut p = Persister::new(store.clone());
        p.store_new(c.clone()).await.expect(what);
        assert_eq!(p.update_progress(progress(&s, &s)).await.expect(what), Ack::Applied, "{what}");

        let loaded = Persister::new(store.clone()).load(&s).await.expect(what);
        assert_eq!(loaded.id.as_bytes(), s.as_bytes(), "{what}: id");
        assert_eq!(loaded.client_id, s, "{what}: client id");
        assert_eq!(loaded.description.as_ref().map(|d| d.text.as_str()), Some(s.as_str()));
        for (ru, ksuid) in loaded.resource_updates.iter().zip(&ksuids) {
            assert_eq!(ru.resource.ksuid.as_bytes(), ksuid.as_bytes(), "{what}: KSUID");
            assert_eq!(ru.resource.label.as_bytes(), s.as_bytes(), "{what}: label");
        }
        assert_eq!(loaded.resource_updates[0].state, ResourceUpdateState::InProgress, "{what}");
        let header = store.load(&s).await.expect(what).expect("stored").header;
        assert_eq!(header.id.as_bytes(), s.as_bytes(), "{what}: id column");
        let listed = store.list(&ListFilter::all().client_id(s.clone())).await.expect(what);
        let ids: Vec<&str> = listed.iter().map(|r| r.id.as_str()).collect();
        // Every client id is found, the empty one included (stored as '', not NULL).
        assert_eq!(ids, [s.as_str()], "{what}: listed by client id");

        for ksuid in &ksuids {
            p.complete(completion(&s, ksuid)).await.expect(what);
        }
        let loaded = Persister::new(store.clone()).load(&s).await.expect(what);
        assert_eq!((loaded.state, loaded.id == s), (CommandState::Success, true), "{what}");
        eprintln!(
            "odd string {what:>18} ({} bytes): stored, updated, completed, loaded in {:?}",
            s.len(),
            started.elapsed()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_50_mb_command_is_stored_updated_and_loaded() {
    const RESOURCES: usize = 2_000;
    let db = TempDb::new("bad-sizes-50mb");
    let store = db.open().await;
    let blob = "x".repeat(25_000);
    let properties = format!(r#"{{"Name":"big","Blob":"{blob}"}}"#);
    let ksuids: Vec<String> = (0..RESOURCES).map(|i| format!("big{i:05}")).collect();
    let c = command("big", &ksuids, "big", &properties);

    let mut p = Persister::new(store.clone());
    let started = Instant::now();
    p.store_new(c.clone()).await.expect("a 50 MB command is stored");
    let stored_in = started.elapsed();
    let started = Instant::now();
    let ack = p.update_progress(progress("big", "big01000")).await.expect("progress");
    assert_eq!(ack, Ack::Applied);
    let progress_in = started.elapsed();
    let started = Instant::now();
    let loaded = Persister::new(store.clone()).load("big").await.expect("loads");
    let loaded_in = started.elapsed();

    let rows = store.load("big").await.expect("load").expect("stored");
    let bytes = rows.json_bytes();
    assert!(bytes > 50_000_000, "the command is over 50 MB as stored: {bytes} bytes");
    assert_eq!(loaded.resource_updates.len(), RESOURCES);
    assert_eq!(loaded.resource_updates[1000].state, ResourceUpdateState::InProgress);
    assert_eq!(
        loaded.resource_updates[1999].resource.properties,
        c.resource_updates[0].resource.properties
    );
    eprintln!(
        "50 MB command ({bytes} bytes stored): store_new {stored_in:?}, one progress {progress_in:?}, \
         load by a fresh persister {loaded_in:?}"
    );
}

/// A valid command in the Go agent's JSON, with OLD and NEW shapes, envelopes, progress
/// results, targets and unknown members, to mutate.
fn valid_command_json() -> String {
    let ru = r#"{"Resource":{"Label":"db","Type":"AWS::RDS::DBInstance","Stack":"s","Target":"t",
        "Schema":{"Identifier":"Id","Tags":"Tags","Fields":["A"],"Nonprovisionable":false,
        "Hints":{"A":{"CreateOnly":true,"Persist":false,"WriteOnly":false,"Required":false,
        "RequiredOnCreate":false,"Opaque":true}},"Discoverable":true,"Extractable":false},
        "Properties":{"MasterUserPassword":"pw","K":{"$value":[1,{"a":2.50}],"$visibility":"Opaque"}},
        "Ksuid":"2qJ1"},"ResourceTarget":{"Label":"t","Namespace":"AWS","Discoverable":false},
        "ExistingResource":{"Label":"","Type":"","Stack":"","Target":"","Schema":{"Identifier":"",
        "Tags":"","Fields":null,"Nonprovisionable":false,"Hints":null,"Discoverable":false,
        "Extractable":false},"Properties":null},"ExistingTarget":{"Label":"","Namespace":"",
        "Discoverable":false},"Operation":"create","MetaData":null,"State":"InProgress",
        "StartTs":"2025-12-19T10:00:00.5Z","ModifiedTs":"2025-12-19T10:00:01+02:00","Retries":1,
        "Remaining":-1,"Version":"","MostRecentProgressResult":{"Operation":"Create",
        "OperationStatus":"InProgress","RequestID":"r","NativeID":"n","ResourceType":"T",
        "ResourceProperties":{"T":{"$value":"x","$visibility":"Opaque","$hashed":true}},
        "StartTs":"0001-01-01T00:00:00Z","ModifiedTs":"0001-01-01T00:00:00Z","Attempts":2},
        "ProgressResult":null,"ReferenceLabels":{"vpc":"v"},"matchFilters":[1e21],"Future":{"x":[]}}"#;
    format!(
        r#"{{"ID":"2qH1","Forma":{{"Description":{{"Text":"d","Confirm":true}},"Properties":{{}},
        "Resources":[{{"Label":"x","Type":"T","Stack":"","Target":"","Schema":{{"Identifier":"",
        "Tags":"","Fields":null,"Nonprovisionable":false,"Hints":null,"Discoverable":false,
        "Extractable":false}},"Properties":{{"p":"\u00e9\n"}}}}]}},"State":"InProgress",
        "StartTs":"2025-12-19T10:00:00.123456789Z","ModifiedTs":"2025-12-19T10:00:00Z",
        "ResourceUpdates":[{ru},{ru}],"TargetUpdates":[{{"Target":{{"Label":"t","Namespace":"AWS",
        "Discoverable":true}},"Operation":"create","State":"Success","StartTs":"0001-01-01T00:00:00Z",
        "ModifiedTs":"0001-01-01T00:00:00Z","Version":"1"}}],"Config":{{"Mode":"reconcile",
        "Force":false,"Simulate":false}},"Command":"apply","ClientId":"c","StackUpdates":[null]}}"#
    )
}

/// One edit of a JSON text; positions wrap around its length.
#[derive(Clone, Debug)]
enum Mutation {
    Replace(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
    Duplicate(usize, usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let json_bytes = prop_oneof![
        4 => proptest::sample::select(b"{}[]\":,\\ 0-9eE.+tfnul\x00\xff\xc3".to_vec()),
        1 => any::<u8>(),
    ];
    prop_oneof![
        3 => (any::<usize>(), json_bytes.clone()).prop_map(|(at, b)| Mutation::Replace(at, b)),
        2 => (any::<usize>(), vec(json_bytes, 1..6)).prop_map(|(at, b)| Mutation::Insert(at, b)),
        2 => (any::<usize>(), 1usize..40).prop_map(|(at, n)| Mutation::Delete(at, n)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => (any::<usize>(), 1usize..200, any::<usize>()).prop_map(|(a, n, b)| Mutation::Duplicate(a, n, b)),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len().max(1);
        match m {
            Mutation::Replace(at, b) => {
                if let Some(slot) = bytes.get_mut(at % len) {
                    *slot = *b;
                }
            }
            Mutation::Insert(at, b) => {
                let at = at % (bytes.len() + 1);
                bytes.splice(at..at, b.iter().copied());
            }
            Mutation::Delete(at, n) => {
                let at = at % len;
                let end = (at + n).min(bytes.len());
                bytes.drain(at.min(end)..end);
            }
            Mutation::Truncate(at) => bytes.truncate(at % len),
            Mutation::Duplicate(from, n, to) => {
                let from = from % len;
                let slice: Vec<u8> = bytes.iter().skip(from).take(*n).copied().collect();
                let to = to % (bytes.len() + 1);
                bytes.splice(to..to, slice);
            }
        }
    }
    bytes
}

/// Every decoder on `bytes`; a decoded command or resource update is re-encoded and must
/// decode again.
fn decode_everything(bytes: &[u8]) -> Result<(), TestCaseError> {
    let text = String::from_utf8_lossy(bytes);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let _ = RawJson::new(text.as_ref());
        let _ = decode_body(bytes);
        let _ = decode_head(bytes);
        let command = decode_command(bytes).ok().and_then(|c| encode_command(&c).ok());
        let ru = decode_resource_update(bytes).ok().and_then(|r| encode_resource_update(&r).ok());
        (
            command.map(|c| decode_command(c.as_bytes()).is_ok()),
            ru.map(|r| decode_resource_update(r.as_bytes()).is_ok()),
        )
    }));
    let (command, ru) = outcome.map_err(|_| TestCaseError::fail("a decoder panicked"))?;
    prop_assert!(command.unwrap_or(true), "a decoded command re-encodes to JSON that decodes");
    prop_assert!(ru.unwrap_or(true), "a decoded resource update re-encodes to JSON that decodes");
    Ok(())
}

#[test]
fn prop_codec_never_panics_on_arbitrary_or_mutated_json() {
    let valid = valid_command_json().into_bytes();
    let command = decode_command(&valid).expect("the seed command is valid");
    let ru = encode_resource_update(&command.resource_updates[0]).expect("encodes").into_bytes();
    let (config, seed) = persister_testkit::properties::config();
    let mut runner = TestRunner::new(config);
    let inputs = prop_oneof![
        1 => vec(any::<u8>(), 0..2048),
        1 => "[\\[\\]{}\":,0-9a-zA-Z$ .-]{0,300}".prop_map(String::into_bytes),
        3 => vec(mutation(), 1..8).prop_map(move |m| mutate(valid.clone(), &m)),
        2 => vec(mutation(), 1..8).prop_map(move |m| mutate(ru.clone(), &m)),
    ];
    match runner.run(&inputs, |bytes| decode_everything(&bytes)) {
        Ok(()) => {}
        Err(TestError::Fail(reason, bytes)) => panic!(
            "codec fuzz failed: {reason}\ninput: {:?}\nreplay with PROPTEST_RNG_SEED={seed}",
            String::from_utf8_lossy(&bytes)
        ),
        Err(TestError::Abort(reason)) => panic!("aborted: {reason} (PROPTEST_RNG_SEED={seed})"),
    }
}

/// Bytes that are not UTF-8, anywhere (strings, names, raw values, unknown members), are a
/// typed decode error: the codec checks the whole input before sonic-rs sees it (sonic-rs
/// only checks the strings it decodes itself).
#[test]
fn non_utf8_bytes_are_a_typed_error_everywhere() {
    type Decoder = fn(&[u8]) -> bool;
    let command: Decoder = |b| decode_command(b).is_ok();
    let resource_update: Decoder = |b| decode_resource_update(b).is_ok();
    let cases: [(&str, &[u8], Decoder); 6] = [
        ("string field", b"{\"Version\":\"\xff\"}", resource_update),
        ("enum field", b"{\"State\":\"\xff\"}", command),
        ("member name", b"{\"\xff\":1}", command),
        ("raw value", b"{\"MetaData\":\"\xff\"}", resource_update),
        ("nested raw value", b"{\"MetaData\":{\"a\":[\"\xff\"]}}", resource_update),
        ("unknown member", b"{\"Operation\":\"\xff\"}", command),
    ];
    for (what, bytes, decode) in cases {
        let outcome = catch_unwind(|| decode(bytes));
        assert!(matches!(outcome, Ok(false)), "{what}: a typed decode error, never a panic");
    }
}
