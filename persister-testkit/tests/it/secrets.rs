//! No Debug or Display output of the model, the messages or the errors shows an opaque value's
//! plaintext. Log lines and tracing fields cannot be captured here (neither `tracing` nor
//! `tracing-subscriber` is a dependency of this crate); the library's log statements carry only
//! ids, counts, paths and migration names.

use std::sync::Arc;

use persister_core::codec::{decode_command, decode_resource_update, encode_command};
use persister_core::{
    Checkpoint, CommandKind, CommandStore, Error, Forma, FormaCommand, HeaderUpdate, MemoryStore,
    Message, Operation, Persister, ProgressResult, RawJson, Resource, ResourceCompletion,
    ResourceProgress, ResourceUpdate, ResourceUpdateState, StoredCommand, Target, TargetUpdate,
    WriteOp,
};
use persister_sqlite::{SqliteConfig, SqliteStore};
use persister_testkit::TempDb;

const SECRET: &str = "hunter2-plaintext";

/// True when `text` shows the secret whole or any 6 bytes of it.
fn shows_part(text: &str, secret: &str) -> bool {
    secret.as_bytes().windows(6).any(|w| text.as_bytes().windows(6).any(|t| t == w))
}

fn envelope(secret: &str) -> String {
    format!(r#"{{"$value":"{secret}","$visibility":"Opaque"}}"#)
}

fn raw(text: &str) -> Option<RawJson> {
    Some(RawJson::new(text).expect("valid JSON"))
}

fn secret_object() -> Option<RawJson> {
    raw(&format!(r#"{{"Name":"db","Password":{}}}"#, envelope(SECRET)))
}

fn resource(ksuid: &str) -> Resource {
    Resource {
        ksuid: ksuid.into(),
        label: "db".into(),
        resource_type: "AWS::RDS::DBInstance".into(),
        // A bare value of an always-opaque field, and an envelope.
        properties: raw(&format!(
            r#"{{"MasterUserPassword":"{SECRET}","Nested":[{{"K":{}}}]}}"#,
            envelope(SECRET)
        )),
        read_only_properties: secret_object(),
        patch_document: raw(&format!(
            r#"[{{"op":"add","path":"/Password","value":{}}}]"#,
            envelope(SECRET)
        )),
        ..Resource::default()
    }
}

fn progress_result() -> ProgressResult {
    ProgressResult {
        resource_properties: secret_object(),
        metadata: secret_object(),
        ..Default::default()
    }
}

/// A command with the secret in every raw JSON field, including unknown members.
fn command(id: &str) -> FormaCommand {
    let target = Target { label: "t".into(), config: secret_object(), ..Target::default() };
    let mut ru = ResourceUpdate {
        resource: resource("k0"),
        existing_resource: resource("k0"),
        resource_target: target.clone(),
        operation: Operation::Create,
        metadata: secret_object(),
        previous_properties: secret_object(),
        match_filters: raw(&format!("[{}]", envelope(SECRET))),
        most_recent_progress_result: progress_result(),
        progress_result: Some(vec![progress_result()]),
        ..ResourceUpdate::default()
    };
    ru.extra.insert("FutureMember", RawJson::new(envelope(SECRET)).expect("valid"));
    let mut c = FormaCommand {
        id: id.into(),
        forma: Some(Forma {
            properties: secret_object(),
            stacks: raw(&format!("[{}]", envelope(SECRET))),
            targets: raw(&format!("[{}]", envelope(SECRET))),
            resources: vec![resource("f0")],
            ..Forma::default()
        }),
        resource_updates: vec![ru],
        target_updates: vec![TargetUpdate { target, ..TargetUpdate::default() }],
        command: CommandKind::Apply,
        ..FormaCommand::default()
    };
    c.extra.insert("StackUpdates", RawJson::new(format!("[{}]", envelope(SECRET))).expect("ok"));
    c
}

fn progress(id: &str) -> ResourceProgress {
    ResourceProgress {
        command_id: id.into(),
        resource_uri: "formae://k0#".into(),
        operation: Operation::Create,
        resource_state: ResourceUpdateState::InProgress,
        progress: progress_result(),
        resource_properties: secret_object(),
        resource_read_only_properties: secret_object(),
        ..ResourceProgress::default()
    }
}

fn completion(id: &str) -> ResourceCompletion {
    ResourceCompletion {
        command_id: id.into(),
        resource_uri: "formae://k0#".into(),
        operation: Operation::Create,
        final_state: ResourceUpdateState::Success,
        resource_properties: secret_object(),
        resource_read_only_properties: secret_object(),
        ..ResourceCompletion::default()
    }
}

/// `{:?}` and `{:#?}` of `value`.
fn debug(value: &impl std::fmt::Debug) -> [String; 2] {
    [format!("{value:?}"), format!("{value:#?}")]
}

#[tokio::test]
async fn debug_of_model_messages_and_persister_shows_no_opaque_plaintext() {
    let c = command("c1");
    let json = encode_command(&c).expect("encodes");
    assert!(json.matches(SECRET).count() >= 20, "the fixture carries the secret everywhere");
    let decoded = decode_command(json.as_bytes()).expect("decodes");
    assert_eq!(decoded, c);
    let ru = &c.resource_updates[0];
    let outputs: Vec<(&str, [String; 2])> = vec![
        ("FormaCommand", debug(&c)),
        ("decoded FormaCommand", debug(&decoded)),
        ("ResourceUpdate", debug(ru)),
        ("Resource", debug(&ru.resource)),
        ("ProgressResult", debug(&ru.most_recent_progress_result)),
        ("Target", debug(&ru.resource_target)),
        ("TargetUpdate", debug(&c.target_updates)),
        ("Forma", debug(&c.forma)),
        ("UnknownFields", debug(&c.extra)),
        ("RawJson", debug(&secret_object())),
        ("ResourceProgress", debug(&progress("c1"))),
        ("ResourceCompletion", debug(&completion("c1"))),
        ("Message::StoreNew", debug(&Message::StoreNew(Box::new(c.clone())))),
        ("Message::Progress", debug(&Message::Progress(Box::new(progress("c1"))))),
        ("Message::Complete", debug(&Message::Complete(Box::new(completion("c1"))))),
        ("Reply::Command", debug(&persister_core::Reply::Command(Box::new(c.clone())))),
    ];
    for (what, texts) in &outputs {
        for text in texts {
            assert!(!shows_part(text, SECRET), "{what} Debug shows the secret: {text}");
        }
    }

    // A persister over SQLite, with the command cached.
    let store = Arc::new(SqliteStore::open(SqliteConfig::in_memory()).await.expect("opens"));
    let mut p = Persister::new(store.clone());
    p.store_new(c.clone()).await.expect("stored");
    p.update_progress(progress("c1")).await.expect("applied");
    for text in debug(&p) {
        assert!(!shows_part(&text, SECRET), "Persister over SQLite: {text}");
    }
}

/// The row types (`StoredCommand`, `CommandRow`, `ResourceUpdateRow`, `Checkpoint`,
/// `HeaderUpdate`, `WriteOp`) hold the desired state's opaque values in plaintext until the
/// command is final; their `Debug`, and so that of `MemoryStore` and of a `Persister` over it,
/// prints JSON lengths only.
#[tokio::test]
async fn debug_of_store_rows_hides_their_json() {
    let store = Arc::new(MemoryStore::new());
    let mut p = Persister::new(store.clone());
    p.store_new(command("c2")).await.expect("stored");
    let stored: StoredCommand = store.load("c2").await.expect("load").expect("present");
    let checkpoint = Checkpoint {
        command_id: "c2".into(),
        expected_revision: 0,
        header: HeaderUpdate {
            state: stored.header.state.clone(),
            start_ts: stored.header.start_ts,
            modified_ts: stored.header.modified_ts,
            start_ts_ns: 0,
            modified_ts_ns: 0,
            stored_bytes: 0,
            head: stored.header.head.clone(),
            body: Some(stored.header.body.clone()),
        },
        resource_updates: stored
            .resource_updates
            .iter()
            .cloned()
            .map(persister_core::ResourceUpdateRow::into_change)
            .collect(),
    };
    let outputs: Vec<(&str, [String; 2])> = vec![
        ("StoredCommand", debug(&stored)),
        ("ResourceUpdateRow", debug(&stored.resource_updates[0])),
        ("Checkpoint", debug(&checkpoint)),
        ("WriteOp", debug(&WriteOp::Insert(stored.clone()))),
        ("MemoryStore", debug(&*store)),
        ("Persister over MemoryStore", debug(&p)),
    ];
    for (what, texts) in &outputs {
        for text in texts {
            assert!(!shows_part(text, SECRET), "{what}: {text}");
        }
    }
}

/// Display and Debug of the codec errors for `input`, from every decoder that takes it.
fn codec_error_texts(input: &str) -> Vec<String> {
    let errors = [
        RawJson::new(input).err(),
        decode_command(input.as_bytes()).err(),
        decode_resource_update(input.as_bytes()).err(),
    ];
    let errors: Vec<_> = errors.into_iter().flatten().collect();
    assert_eq!(errors.len(), 3, "every decoder refuses {input:?}");
    errors.iter().flat_map(|e| [e.to_string(), format!("{e:?}")]).collect()
}

#[test]
fn codec_errors_never_echo_the_input() {
    let short = "pw-4242";
    // (case, invalid input, secret)
    let cases = [
        (
            "error far from the secret",
            format!(r#"{{"Password":{},,"A":1}}"#, envelope(SECRET)),
            SECRET,
        ),
        ("missing closing brace", format!(r#"{{"Password":{}"#, envelope(SECRET)), SECRET),
        // sonic-rs shows the bytes around the error position; the codec keeps only its kind
        // and position, so a secret next to the error is not shown either.
        ("cut after the secret", format!(r#"{{"Password":{{"$value":"{SECRET}"#), SECRET),
        (
            "bad byte after the secret",
            format!(r#"{{"Password":{{"$value":"{SECRET}"x}}}}"#),
            SECRET,
        ),
        ("cut after a short secret", format!(r#"{{"Password":{{"$value":"{short}"#), short),
    ];
    for (what, input, secret) in cases {
        for text in codec_error_texts(&input) {
            assert!(!shows_part(&text, secret), "{what}: {text}");
        }
    }
    assert!(
        codec_error_texts(&format!(r#"{{"P":{{"$value":"{short}"#))
            .iter()
            .all(|t| !t.contains(short))
    );

    // A string in a typed field of another type is not echoed (serde's message is redacted).
    // An unknown enum string is named, since enum fields never hold property values.
    let e = decode_resource_update(format!(r#"{{"Retries":"{SECRET}"}}"#).as_bytes())
        .expect_err("a number field refuses a string");
    assert!(!shows_part(&e.to_string(), SECRET), "typed values are not echoed: {e}");
    let e = decode_resource_update(br#"{"State":"Exploded"}"#).expect_err("unknown state");
    assert!(e.to_string().contains("Exploded"), "{e}");
}

#[tokio::test]
async fn a_corrupt_row_holding_a_secret_is_reported_without_it() {
    let db = TempDb::new("secrets");
    let store = db.open().await;
    let raw = db.raw();
    let cut = "substr(fixed, 1, instr(fixed, ?1) + length(?1) - 1)";
    // (case, the corrupt value as SQL over `fixed`, the part that holds the properties)
    let cases = [("garbage appended", "fixed || ',garbage'"), ("cut right after the secret", cut)];
    for (i, (what, corrupt)) in cases.into_iter().enumerate() {
        let id = format!("corrupt-{i}");
        Persister::new(store.clone()).store_new(command(&id)).await.expect("stored");
        let sql = format!("UPDATE resource_updates SET fixed = {corrupt} WHERE command_id = ?2");
        assert_eq!(raw.execute(&sql, rusqlite::params![SECRET, id]).expect("corrupts"), 1);
        let err = Persister::new(store.clone()).load(&id).await.expect_err(what);
        assert!(matches!(err, Error::Store(persister_core::StoreError::Corrupt { .. })), "{err:?}");
        for text in [err.to_string(), format!("{err:?}"), format!("{err:#?}")] {
            assert!(text.contains(&id), "{what}: names the command: {text}");
            assert!(!shows_part(&text, SECRET), "{what}: {text}");
        }
    }
}

#[tokio::test]
async fn errors_of_messages_carrying_secrets_do_not_show_them() {
    let store = Arc::new(SqliteStore::open(SqliteConfig::in_memory()).await.expect("opens"));
    let mut p = Persister::new(store.clone());
    p.store_new(command("taken")).await.expect("stored");
    let mut duplicate_key = command("dup-key");
    duplicate_key.resource_updates.push(duplicate_key.resource_updates[0].clone());
    // Another command under a taken id (the same one again would be stored idempotently).
    let mut other_taken = command("taken");
    other_taken.client_id = "another client".into();
    let errors: Vec<(&str, Error)> = vec![
        ("progress, unknown command", p.update_progress(progress("nope")).await.expect_err("x")),
        ("completion, unknown command", p.complete(completion("nope")).await.expect_err("x")),
        ("store_new, id taken", p.store_new(other_taken).await.expect_err("x")),
        ("store_new, duplicate key", p.store_new(duplicate_key).await.expect_err("x")),
        ("finalize, not all final", p.finalize_incomplete("taken").await.expect_err("x")),
    ];
    for (what, err) in errors {
        for text in [err.to_string(), format!("{err:?}"), format!("{err:#?}")] {
            assert!(!shows_part(&text, SECRET), "{what}: {text}");
        }
    }
}
