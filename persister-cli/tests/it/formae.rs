//! `import --from-formae`: formae agents' SQLite databases of both schemas, built from
//! Go-shaped commands ([`formae_db`](crate::formae_db)), imported and compared with the
//! commands they were built from.

use persister_core::{
    Ack, CommandKind, CommandState, CommandStore, Description, FormaCommand, Operation, Persister,
    RawJson, ResourceCompletion, ResourceUpdate, ResourceUpdateState, TargetUpdate,
    TargetUpdateState, Timestamp, codec,
};
use persister_testkit::TempDb;

use crate::fixture::{self, ok, run};
use crate::formae_db::{new_schema, new_schema_at, old_schema, write_new, write_old};

pub(crate) fn ts(text: &str) -> Timestamp {
    Timestamp::parse(text).expect("a valid time")
}

fn raw(text: &str) -> Option<RawJson> {
    Some(RawJson::new(text).expect("valid JSON"))
}

/// A running apply: a create not started on `k-a`, and a replace of `k-b` whose delete is
/// done; nanosecond times, raw JSON with its own spacing, a target update.
pub(crate) fn running() -> FormaCommand {
    let mut c = fixture::command("2qF-running", CommandKind::Apply, "agent-1", 3, 0);
    c.state = CommandState::InProgress;
    c.start_ts = ts("2025-12-19T23:51:57.123456789Z");
    c.modified_ts = ts("2025-12-19T23:52:10.5Z");
    c.description =
        Some(Description { text: "deploy db".into(), confirm: true, ..Default::default() });
    c.config.force = true;
    let [a, del, create] = &mut c.resource_updates[..] else { panic!("three resource updates") };
    a.resource.ksuid = "k-a".into();
    a.resource.properties = raw(r#"{ "Engine" : "postgres",  "Size": 2.50 }"#);
    a.stack_label = "prod".into();
    a.reference_labels.insert("vpc".into(), "main-vpc".into());
    for (ru, op) in [(&mut *del, Operation::Delete), (&mut *create, Operation::Create)] {
        ru.resource.ksuid = "k-b".into();
        ru.operation = op;
        ru.group_id = "g-1".into();
        ru.stack_label = "prod".into();
    }
    del.state = ResourceUpdateState::Success;
    del.start_ts = ts("2025-12-19T23:52:00Z");
    del.modified_ts = ts("2025-12-19T23:52:10.5Z");
    del.metadata = raw(r#"{"plugin": "aws"}"#);
    del.most_recent_progress_result.status_message = "deleted".into();
    del.progress_result = Some(vec![del.most_recent_progress_result.clone()]);
    create.remaining_resolvables = vec!["formae://k-a#/Endpoint".into()];
    c.target_updates = vec![TargetUpdate {
        operation: Operation::Create,
        state: TargetUpdateState::Success,
        modified_ts: ts("2025-12-19T23:51:58Z"),
        ..Default::default()
    }];
    c
}

/// A finished apply whose secret was hashed by an agent before the `$hashed` marker.
pub(crate) fn done() -> FormaCommand {
    let mut c = fixture::command("2qG-done", CommandKind::Apply, "agent-1", 1, 0);
    c.state = CommandState::Success;
    c.start_ts = ts("2025-12-18T10:00:00Z");
    c.modified_ts = ts("2025-12-18T10:05:00.25Z");
    let ru = &mut c.resource_updates[0];
    ru.state = ResourceUpdateState::Success;
    ru.version = "v7".into();
    ru.stack_label = "prod".into();
    let digest = "ab".repeat(32);
    ru.resource.properties =
        raw(&format!(r#"{{"Password":{{"$value":"{digest}","$visibility":"Opaque"}}}}"#));
    c
}

/// The command of `c` as an import stores it: UTC times, the description the new schema
/// always has.
pub(crate) fn expected(c: &FormaCommand) -> String {
    let mut c = c.clone();
    c.normalize_utc();
    c.description.get_or_insert_with(Description::default);
    codec::encode_command(&c).expect("encodes")
}

/// An empty target database and its URL.
async fn target(tag: &str) -> (TempDb, String) {
    let db = TempDb::new(tag);
    CommandStore::close(&*db.open().await).await.expect("closes");
    let url = format!("sqlite:{}", db.path().display());
    (db, url)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_schema_database_imports_with_its_quirks_and_a_corrupt_row_alone_fails() {
    let formae = TempDb::new("formae-new");
    let conn = formae.raw();
    new_schema(&conn);
    let mut running = running();
    // The agent returns a replace's halves in an undefined order: store the create first.
    running.resource_updates.swap(1, 2);
    write_new(&conn, &running);
    running.resource_updates.swap(1, 2);
    write_new(&conn, &done());
    let mut unpaired = fixture::command("2qH-no-group", CommandKind::Apply, "", 2, 0);
    for (ru, op) in unpaired.resource_updates.iter_mut().zip([Operation::Delete, Operation::Create])
    {
        ru.resource.ksuid = "k-c".into();
        ru.operation = op;
        ru.stack_label = "dev".into();
    }
    write_new(&conn, &unpaired);
    write_new(&conn, &fixture::command("2qI-corrupt", CommandKind::Apply, "", 2, 0));
    conn.execute(
        "UPDATE resource_updates SET resource = '{\"Label\":' WHERE command_id = '2qI-corrupt' \
         AND ksuid = '2qI-corrupt-k1'",
        [],
    )
    .expect("corrupts a row");
    let from = format!("sqlite:{}", formae.path().display());
    let (db, url) = target("formae-new-target").await;

    let (code, out, err) = run(&url, &["import", "--from-formae", &from]);
    assert_eq!(code, 4, "the corrupt command failed: {out}{err}");
    assert!(out.contains("failed 2qI-corrupt (formae): column resource_updates (ksuid 2qI-corrupt-k1, operation create).resource: cannot decode resource"), "{out}");
    assert!(
        out.contains("warning 2qH-no-group (formae): the replace pair of KSUID k-c has no GroupId"),
        "{out}"
    );
    assert!(
        out.contains(
            "imported 3 of 4 command(s) read; skipped 0 already present; 0 conflict(s); 1 failed"
        ),
        "{out}"
    );
    let mut p = Persister::new(db.open().await);
    for c in [&running, &done(), &unpaired] {
        let loaded = p.load(&c.id).await.expect("imported");
        assert_eq!(codec::encode_command(&loaded).expect("encodes"), expected(c), "{}", c.id);
    }
    // The delete half was final in the agent: its completion counts as arrived (D3), and the
    // command finalizes once the other two complete.
    let complete = |ksuid: &str, operation| ResourceCompletion {
        command_id: running.id.clone(),
        resource_uri: format!("formae://{ksuid}#"),
        operation,
        final_state: ResourceUpdateState::Success,
        ..Default::default()
    };
    assert_eq!(
        p.complete(complete("k-b", Operation::Delete)).await.expect("replies"),
        Ack::Ignored
    );
    assert_eq!(
        p.complete(complete("k-a", Operation::Create)).await.expect("replies"),
        Ack::Applied
    );
    assert_eq!(
        p.complete(complete("k-b", Operation::Create)).await.expect("replies"),
        Ack::Finalized
    );
    drop(p);

    // Again: the two unchanged commands are skipped; the running one, finished since, is a
    // conflict left as it is.
    let again = run(&url, &["import", "--from-formae", &from]).1;
    assert!(again.contains("conflict 2qF-running (formae): a different command"), "{again}");
    assert!(
        again.contains(
            "imported 0 of 4 command(s) read; skipped 2 already present; 1 conflict(s); 1 failed"
        ),
        "{again}"
    );
    let untouched = formae.raw();
    let n: i64 = untouched
        .query_row("SELECT COUNT(*) FROM resource_updates", [], |r| r.get(0))
        .expect("counts");
    assert_eq!(n, 8, "the formae database is only read");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_old_schema_database_imports_from_its_data_column() {
    let formae = TempDb::new("formae-old");
    let conn = formae.raw();
    old_schema(&conn, 2);
    let mut old = running();
    old.id = "2qJ-old".into();
    old.description = None;
    old.start_ts = ts("2025-12-19T15:51:57.123456789-08:00");
    old.modified_ts = ts("2025-12-19T15:52:10.5-08:00");
    write_old(&conn, &old);
    let from = format!("sqlite:{}", formae.path().display());
    let (db, url) = target("formae-old-target").await;
    let out = ok(&url, &["import", "--from-formae", &from]);
    assert!(out.contains("imported 1 of 1"), "{out}");
    let loaded = Persister::new(db.open().await).load("2qJ-old").await.expect("imported");
    let mut want = old.clone();
    want.normalize_utc();
    assert_eq!(
        codec::encode_command(&loaded).expect("encodes"),
        codec::encode_command(&want).expect("encodes")
    );
    assert_eq!(loaded.start_ts.to_string(), "2025-12-19T23:51:57.123456789Z", "UTC (D8)");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_schema_version_or_a_foreign_database_is_refused() {
    let formae = TempDb::new("formae-future");
    let conn = formae.raw();
    new_schema(&conn);
    conn.execute("INSERT INTO db_version (version_id, is_applied) VALUES (7, 1)", []).expect("v7");
    let (_db, url) = target("formae-future-target").await;
    let from = format!("sqlite:{}", formae.path().display());
    let (code, _, err) = run(&url, &["import", "--from-formae", &from]);
    assert_eq!((code, err.lines().count()), (1, 1), "{err}");
    assert!(err.contains("schema version 7") && err.contains("versions 1 to 5"), "{err}");

    let blob_id = TempDb::new("formae-blob-id");
    new_schema(&blob_id.raw());
    blob_id
        .raw()
        .execute(
            "INSERT INTO forma_commands (command_id, timestamp, command, state) \
             VALUES (X'61FF', '2025-12-19 10:00:00+00:00', 'apply', 'Success')",
            [],
        )
        .expect("an id stored as a BLOB");
    let from = format!("sqlite:{}", blob_id.path().display());
    let mut cmd = fixture::cli(&url);
    cmd.args(["import", "--from-formae", &from]).timeout(std::time::Duration::from_secs(30));
    let output = cmd.output().expect("runs");
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "ends, with an error: {err}");
    assert!(err.contains("cannot page past command id"), "{err}");

    let (ours, ours_url) = target("formae-ours").await;
    let (code, _, err) = run(&url, &["import", "--from-formae", &ours_url]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is not a formae agent's database"), "{err}");
    drop(ours);
    let (code, _, err) = run(&url, &["import", "--from-formae", "sqlite:/nonexistent/formae.db"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no such file"), "{err}");
}

/// A resource update of `ksuid` for `operation` in `state`, with `version` and `group`.
fn ru(
    ksuid: &str,
    operation: Operation,
    state: ResourceUpdateState,
    version: &str,
    group: &str,
) -> ResourceUpdate {
    let mut ru = ResourceUpdate { operation, state, ..Default::default() };
    ru.resource.ksuid = ksuid.into();
    ru.resource.label = format!("bucket-{ksuid}");
    ru.resource.resource_type = "AWS::S3::Bucket".into();
    ru.stack_label = "prod".into();
    ru.version = version.into();
    ru.group_id = group.into();
    ru
}

/// Writes `after` (what migration 00004 and the agent since left in the columns) with `data`
/// in the old column.
fn write_v4(conn: &rusqlite::Connection, after: &FormaCommand, data: &[u8]) {
    write_new(conn, after);
    conn.execute(
        "UPDATE forma_commands SET data = ?1 WHERE command_id = ?2",
        rusqlite::params![data, after.id],
    )
    .expect("old data");
}

#[tokio::test(flavor = "multi_thread")]
async fn at_version_4_what_migration_00004_lost_is_restored_from_the_old_data() {
    use ResourceUpdateState::{InProgress, NotStarted, Success};
    let formae = TempDb::new("formae-v4");
    let conn = formae.raw();
    new_schema_at(&conn, 4);
    // Before the migration: a running command, its description under Forma, a create done,
    // a create not started, and a replace whose delete is done.
    let mut before = fixture::command("2qK-migrated", CommandKind::Apply, "cli", 0, 0);
    before.state = CommandState::InProgress;
    before.forma = Some(persister_core::Forma {
        description: Description {
            text: "from the old agent".into(),
            confirm: true,
            ..Default::default()
        },
        ..Default::default()
    });
    before.resource_updates = vec![
        ru("k0", Operation::Create, Success, "v1", ""),
        ru("k1", Operation::Create, NotStarted, "", ""),
        ru("kR", Operation::Delete, Success, "v2", "g-1"),
        ru("kR", Operation::Create, NotStarted, "", "g-1"),
    ];
    // The migration copied the two with a Version, without their GroupId, and no
    // description; the agent wrote progress since, which the columns keep.
    let mut after = before.clone();
    after.forma = None;
    after.modified_ts = fixture::at(60);
    after.resource_updates =
        vec![before.resource_updates[0].clone(), before.resource_updates[2].clone()];
    after.resource_updates[1].group_id.clear();
    after.resource_updates[0].most_recent_progress_result.status_message = "done since".into();
    write_v4(&conn, &after, codec::encode_command(&before).expect("encodes").as_bytes());

    // A replace pair that has no GroupId in the old data either, and no description at all.
    let mut pairless = fixture::command("2qL-no-group", CommandKind::Apply, "cli", 0, 0);
    pairless.state = CommandState::Success;
    pairless.resource_updates = vec![
        ru("kS", Operation::Delete, Success, "v1", ""),
        ru("kS", Operation::Create, Success, "v2", ""),
    ];
    write_v4(&conn, &pairless, codec::encode_command(&pairless).expect("encodes").as_bytes());
    // Old data that does not decode: the columns are used as they are.
    let mut garbled = fixture::command("2qM-garbled", CommandKind::Apply, "cli", 1, 0);
    garbled.state = CommandState::InProgress;
    garbled.resource_updates[0].state = InProgress;
    write_v4(&conn, &garbled, b"{\"ID\": ");

    let from = format!("sqlite:{}", formae.path().display());
    let (db, url) = target("formae-v4-target").await;
    let out = ok(&url, &["import", "--from-formae", &from]);
    assert!(out.contains("restored 2qK-migrated (formae): from its old data column: its description; 2 resource update(s) missing from resource_updates (k1 create, kR create); the GroupId of 1 resource update(s) (kR delete)\n"), "{out}");
    assert!(!out.contains("warning 2qK-migrated"), "everything was restored: {out}");
    assert!(!out.contains("restored 2qL") && !out.contains("restored 2qM"), "{out}");
    assert!(out.contains("warning 2qL-no-group (formae): the replace pair of KSUID kS has no GroupId (nor in its old data column)"), "{out}");
    assert!(
        out.contains("warning 2qM-garbled (formae): its old data column does not decode ("),
        "{out}"
    );
    assert!(out.contains("imported 3 of 3"), "{out}");

    let mut want = after.clone();
    want.description = before.forma.as_ref().map(|f| f.description.clone());
    want.resource_updates = vec![
        after.resource_updates[0].clone(),
        before.resource_updates[1].clone(),
        before.resource_updates[2].clone(),
        before.resource_updates[3].clone(),
    ];
    // The delete half keeps what the columns hold, with the GroupId of the old data.
    want.resource_updates[2] = after.resource_updates[1].clone();
    want.resource_updates[2].group_id = "g-1".into();
    let mut p = Persister::new(db.open().await);
    for (id, c) in [("2qK-migrated", &want), ("2qL-no-group", &pairless), ("2qM-garbled", &garbled)]
    {
        let loaded = p.load(id).await.expect("imported");
        assert_eq!(codec::encode_command(&loaded).expect("encodes"), expected(c), "{id}");
    }
    // The restored resource updates are pending: the command resumes with them.
    let complete = |ksuid: &str, operation| ResourceCompletion {
        command_id: "2qK-migrated".into(),
        resource_uri: format!("formae://{ksuid}#"),
        operation,
        final_state: Success,
        ..Default::default()
    };
    assert_eq!(p.complete(complete("k1", Operation::Create)).await.expect("replies"), Ack::Applied);
    assert_eq!(
        p.complete(complete("kR", Operation::Create)).await.expect("replies"),
        Ack::Finalized
    );
}
