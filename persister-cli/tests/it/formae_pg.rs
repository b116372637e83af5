//! `import --from-formae postgres://...`: formae agents' PostgreSQL databases (each in a
//! database of its own on the test server), built from the reference's DDL (section 4.2):
//! `TIMESTAMP` and `BOOLEAN` columns, TEXT JSON in the new schema, JSONB `data` in the old;
//! and `export --to-formae postgres://...` back into such a database.
//!
//! The DDL here is the reference's, kept apart from the one `export --to-formae` writes
//! (`src/formae/write/postgres.rs`) on purpose: [`schema_of`] compares the two.

use std::sync::Arc;

use persister_core::{FormaCommand, Persister, ResourceUpdate, codec};
use persister_testkit::pg::test_database;
use sqlx::{Connection, PgConnection};

use crate::fixture::{self, run};
use crate::formae::{done, expected, running, ts};
use crate::formae_db::space;

const VERSIONS: &str = "CREATE TABLE db_version (id serial PRIMARY KEY, version_id bigint NOT NULL, \
     is_applied boolean NOT NULL, tstamp timestamp DEFAULT now());";

const NEW_SCHEMA: &str = "CREATE TABLE forma_commands (command_id TEXT NOT NULL PRIMARY KEY, \
     timestamp TIMESTAMP NOT NULL, command TEXT NOT NULL, state TEXT NOT NULL, \
     agent_version TEXT, client_id TEXT, agent_id TEXT, description_text TEXT, \
     description_confirm BOOLEAN DEFAULT FALSE, config_mode TEXT DEFAULT 'reconcile', \
     config_force BOOLEAN DEFAULT FALSE, config_simulate BOOLEAN DEFAULT FALSE, \
     target_updates TEXT, modified_ts TIMESTAMP);
     CREATE INDEX idx_forma_commands_timestamp ON forma_commands(timestamp);
     CREATE INDEX idx_forma_commands_command ON forma_commands(command);
     CREATE INDEX idx_forma_commands_state ON forma_commands(state);
     CREATE INDEX idx_forma_commands_agent_version ON forma_commands(agent_version);
     CREATE INDEX idx_forma_commands_agent_id ON forma_commands(agent_id);
     CREATE INDEX idx_forma_commands_client_id ON forma_commands(client_id);
     CREATE INDEX idx_forma_commands_config_mode ON forma_commands(config_mode);
     CREATE TABLE resource_updates (command_id TEXT NOT NULL, ksuid TEXT NOT NULL, \
     operation TEXT NOT NULL, state TEXT NOT NULL, start_ts TIMESTAMP, modified_ts TIMESTAMP, \
     retries INTEGER DEFAULT 0, remaining INTEGER DEFAULT 0, version TEXT, stack_label TEXT, \
     group_id TEXT, source TEXT, resource TEXT, resource_target TEXT, existing_resource TEXT, \
     existing_target TEXT, metadata TEXT, progress_result TEXT, most_recent_progress TEXT, \
     remaining_resolvables TEXT, reference_labels TEXT, previous_properties TEXT, \
     PRIMARY KEY (command_id, ksuid, operation));
     CREATE INDEX idx_ru_command_id ON resource_updates(command_id);
     CREATE INDEX idx_ru_ksuid ON resource_updates(ksuid);
     CREATE INDEX idx_ru_state ON resource_updates(state);
     CREATE INDEX idx_ru_stack_label ON resource_updates(stack_label);
     CREATE INDEX idx_ru_operation ON resource_updates(operation);";

const OLD_SCHEMA: &str = "CREATE TABLE forma_commands (command_id TEXT NOT NULL PRIMARY KEY, \
     timestamp TIMESTAMP NOT NULL, command TEXT NOT NULL, state TEXT NOT NULL, \
     agent_version TEXT, client_id TEXT, agent_id TEXT, data JSONB);
     CREATE INDEX idx_forma_commands_timestamp ON forma_commands(timestamp);
     CREATE INDEX idx_forma_commands_command ON forma_commands(command);
     CREATE INDEX idx_forma_commands_state ON forma_commands(state);
     CREATE INDEX idx_forma_commands_agent_version ON forma_commands(agent_version);
     CREATE INDEX idx_forma_commands_agent_id ON forma_commands(agent_id);
     CREATE INDEX idx_forma_commands_client_id ON forma_commands(client_id);";

/// The wall clock of a time in UTC, as the Go driver binds it (microseconds kept).
fn wall(ts: persister_core::Timestamp) -> String {
    space(ts).trim_end_matches("+00:00").to_owned()
}

async fn schema(conn: &mut PgConnection, ddl: &str, version: i64) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("{VERSIONS}{ddl}")))
        .execute(&mut *conn)
        .await
        .expect("the schema");
    for v in 0..=version {
        sqlx::query("INSERT INTO db_version (version_id, is_applied) VALUES ($1, true)")
            .bind(v)
            .execute(&mut *conn)
            .await
            .expect("a version row");
    }
}

/// The schema of the current schema of a PostgreSQL database, to compare: each column (table,
/// name, type, nullability, default) and each index's definition.
async fn schema_of(conn: &mut PgConnection) -> Vec<String> {
    let columns: Vec<(String,)> = sqlx::query_as(
        "SELECT table_name || '.' || column_name || ' ' || data_type || ' nullable=' || \
         is_nullable || ' default=' || COALESCE(column_default, '-') \
         FROM information_schema.columns WHERE table_schema = current_schema() \
         ORDER BY table_name, ordinal_position",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("reads the columns");
    let indexes: Vec<(String,)> = sqlx::query_as(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("reads the indexes");
    columns.into_iter().chain(indexes).map(|(s,)| s).collect()
}

async fn write_new(conn: &mut PgConnection, c: &FormaCommand) {
    let d = c.description.clone().unwrap_or_default();
    let targets = (!c.target_updates.is_empty())
        .then(|| codec::encode_part(&Some(c.target_updates.clone())).expect("encodes"));
    sqlx::query(
        "INSERT INTO forma_commands (command_id, timestamp, command, state, client_id, \
         description_text, description_confirm, config_mode, config_force, config_simulate, \
         target_updates, modified_ts) VALUES ($1, $2::timestamp, $3, $4, $5, $6, $7, $8, $9, \
         NULL, $10, $11::timestamp)",
    )
    .bind(&c.id)
    .bind(wall(c.start_ts))
    .bind(c.command.as_str())
    .bind(c.state.as_str())
    .bind(&c.client_id)
    .bind(&d.text)
    .bind(d.confirm)
    .bind(c.config.mode.as_str())
    .bind(c.config.force)
    .bind(targets)
    .bind(wall(c.modified_ts))
    .execute(&mut *conn)
    .await
    .expect("a new row");
    for ru in &c.resource_updates {
        write_resource_update(conn, &c.id, ru).await;
    }
}

async fn write_resource_update(conn: &mut PgConnection, id: &str, ru: &ResourceUpdate) {
    let json = |p: String| Some(p);
    let raw = |r: &Option<persister_core::RawJson>| r.as_ref().map(|r| r.as_str().to_owned());
    sqlx::query(
        "INSERT INTO resource_updates VALUES ($1, $2, $3, $4, $5::timestamp, $6::timestamp, $7, \
         $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)",
    )
    .bind(id)
    .bind(&ru.resource.ksuid)
    .bind(ru.operation.as_str())
    .bind(ru.state.as_str())
    .bind(wall(ru.start_ts))
    .bind(wall(ru.modified_ts))
    .bind(i32::from(ru.retries))
    .bind(i32::from(ru.remaining))
    .bind(&ru.version)
    .bind(&ru.stack_label)
    .bind(&ru.group_id)
    .bind(ru.source.as_str())
    .bind(json(codec::encode_part(&ru.resource).expect("encodes")))
    .bind(json(codec::encode_part(&ru.resource_target).expect("encodes")))
    .bind(json(codec::encode_part(&ru.existing_resource).expect("encodes")))
    .bind(json(codec::encode_part(&ru.existing_target).expect("encodes")))
    .bind(raw(&ru.metadata))
    .bind(
        ru.progress_result.as_ref().map(|p| codec::encode_part(&Some(p.clone())).expect("encodes")),
    )
    .bind(json(codec::encode_part(&ru.most_recent_progress_result).expect("encodes")))
    .bind(
        (!ru.remaining_resolvables.is_empty())
            .then(|| codec::encode_part(&Some(ru.remaining_resolvables.clone())).expect("encodes")),
    )
    .bind(
        (!ru.reference_labels.is_empty())
            .then(|| codec::encode_part(&Some(ru.reference_labels.clone())).expect("encodes")),
    )
    .bind(raw(&ru.previous_properties))
    .execute(&mut *conn)
    .await
    .expect("a resource update row");
}

#[tokio::test(flavor = "multi_thread")]
async fn formae_postgres_databases_of_both_schemas_import() {
    let formae = test_database().await.unwrap_or_else(|e| panic!("{e}"));
    let mut conn = PgConnection::connect(formae.url()).await.expect("connects");
    schema(&mut conn, NEW_SCHEMA, 5).await;
    let mut running = running();
    // PostgreSQL keeps microseconds: the agent truncated its times before binding them.
    running.start_ts = ts("2025-12-19T23:51:57.123456Z");
    running.resource_updates.swap(1, 2);
    write_new(&mut conn, &running).await;
    running.resource_updates.swap(1, 2);
    write_new(&mut conn, &done()).await;
    write_new(
        &mut conn,
        &fixture::command("2qI-corrupt", persister_core::CommandKind::Apply, "", 1, 0),
    )
    .await;
    sqlx::query("UPDATE resource_updates SET state = 'Sleeping' WHERE command_id = '2qI-corrupt'")
        .execute(&mut conn)
        .await
        .expect("corrupts a row");

    let target = test_database().await.unwrap_or_else(|e| panic!("{e}"));
    let store = Arc::new(target.store().await.expect("migrates"));
    let (code, out, err) = run(target.url(), &["import", "--from-formae", formae.url()]);
    assert_eq!(code, 4, "{out}{err}");
    assert!(out.contains("failed 2qI-corrupt (formae): column resource_updates (ksuid 2qI-corrupt-k0, operation create).state: unknown ResourceUpdateState \"Sleeping\""), "{out}");
    assert!(out.contains("imported 2 of 3 command(s) read"), "{out}");
    let mut p = Persister::new(store.clone());
    for c in [&running, &done()] {
        let loaded = p.load(&c.id).await.expect("imported");
        assert_eq!(codec::encode_command(&loaded).expect("encodes"), expected(c), "{}", c.id);
    }

    let old = test_database().await.unwrap_or_else(|e| panic!("{e}"));
    let mut old_conn = PgConnection::connect(old.url()).await.expect("connects");
    schema(&mut old_conn, OLD_SCHEMA, 1).await;
    let mut c = running.clone();
    c.id = "2qJ-old".into();
    c.start_ts = ts("2025-12-19T15:51:57.123456-08:00");
    sqlx::query(
        "INSERT INTO forma_commands (command_id, timestamp, command, state, data) \
         VALUES ($1, now(), 'apply', 'InProgress', $2::jsonb)",
    )
    .bind(&c.id)
    .bind(codec::encode_command(&c).expect("encodes"))
    .execute(&mut old_conn)
    .await
    .expect("an old row");
    let (data,): (String,) = sqlx::query_as("SELECT data::text FROM forma_commands")
        .fetch_one(&mut old_conn)
        .await
        .expect("reads data");
    assert!(data.contains("\"Engine\": \"postgres\""), "JSONB rewrote the raw values: {data}");
    let out = crate::fixture::ok(target.url(), &["import", "--from-formae", old.url()]);
    assert!(out.contains("imported 1 of 1"), "{out}");
    let loaded = p.load("2qJ-old").await.expect("imported");
    let mut want = codec::decode_command(data.as_bytes()).expect("decodes");
    want.normalize_utc();
    assert_eq!(codec::encode_command(&loaded).ok(), codec::encode_command(&want).ok());
    assert_eq!(loaded.start_ts.to_string(), "2025-12-19T23:51:57.123456Z");

    drop((p, store, conn, old_conn));
    for db in [formae, target, old] {
        db.cleanup().await.expect("drops the test database");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn export_to_formae_postgres_and_back() {
    let source = test_database().await.unwrap_or_else(|e| panic!("{e}"));
    let store = Arc::new(source.store().await.expect("connects"));
    fixture::write(store.clone()).await;
    crate::import::many(store.clone()).await;
    drop(store);
    let formae = test_database().await.unwrap_or_else(|e| panic!("{e}"));
    let target = test_database().await.unwrap_or_else(|e| panic!("{e}"));
    let target_store = Arc::new(target.store().await.expect("migrates"));
    let refusal = "its current schema holds db_version, forma_commands, resource_updates";
    crate::export::to_formae_and_back(
        source.url(),
        formae.url(),
        target.url(),
        target_store.clone(),
        refusal,
    )
    .await;

    let mut conn = PgConnection::connect(formae.url()).await.expect("connects");
    let reference = test_database().await.unwrap_or_else(|e| panic!("{e}"));
    let mut reference_conn = PgConnection::connect(reference.url()).await.expect("connects");
    schema(&mut reference_conn, NEW_SCHEMA, 5).await;
    assert_eq!(schema_of(&mut conn).await, schema_of(&mut reference_conn).await);
    let versions: Vec<(i64, bool)> =
        sqlx::query_as("SELECT version_id, is_applied FROM db_version ORDER BY id")
            .fetch_all(&mut conn)
            .await
            .expect("reads db_version");
    assert_eq!(versions, (0..=5).map(|v| (v, true)).collect::<Vec<_>>());
    let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM forma_commands")
        .fetch_one(&mut conn)
        .await
        .expect("counts");
    let all = crate::import::MANY + fixture::IDS.len();
    assert_eq!(rows, i64::try_from(all).expect("fits"), "the refused export wrote nothing");
    // The generated commands start at 10:00:00.123456789: the Go driver's microseconds.
    let (start,): (String,) = sqlx::query_as(
        "SELECT timestamp::text FROM forma_commands WHERE command_id LIKE 'Tcmd%' LIMIT 1",
    )
    .fetch_one(&mut conn)
    .await
    .expect("reads a time");
    assert_eq!(start, "2025-12-19 10:00:00.123456");

    // The persister's own database holds tables: refused, and left as it is.
    let (code, _, err) = run(source.url(), &["export", "--to-formae", target.url()]);
    assert_eq!((code, err.lines().count()), (1, 1), "{err}");
    assert!(err.contains("is not empty (its current schema holds "), "{err}");
    let mut target_conn = PgConnection::connect(target.url()).await.expect("connects");
    let (formae_tables,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'db_version'",
    )
    .fetch_one(&mut target_conn)
    .await
    .expect("counts");
    assert_eq!(formae_tables, 0, "nothing created in a refused database");

    drop((target_store, conn, reference_conn, target_conn));
    for db in [source, formae, target, reference] {
        db.cleanup().await.expect("drops the test database");
    }
}
