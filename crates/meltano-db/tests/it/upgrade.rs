//! Upgrading databases made by Meltano 2.0 to 4.0: the result must be what Meltano 4.4.1's alembic upgrade
//! leaves, schema and rows alike.
//!
//! Two kinds of old databases: real ones, made by the old releases themselves (see `old_meltano`), and one
//! built here by hand at Meltano 2.0's revision with a run history full of corner cases. Each is upgraded once by
//! Meltano 4.4.1 and once by us, and the two results compared. Tests that need a Meltano release which cannot be
//! installed here print why and pass without checking.

use meltano_db::{DbError, Dialect, HEAD_REVISION, SystemDb};

use crate::old_meltano::{self, Prepared, Release, Skip};
use crate::support::{Fixture, both_dialects};

/// Meltano 2.0's head, where our upgrade path starts.
const MELTANO_2_0: &str = "13e8639c6d2b";

/// Runs an old-release case once per dialect, as tests `sqlite` and `postgres` in a module named after it.
macro_rules! releases {
    ($($name:ident: $version:literal at $revision:literal with python minor $oldest:literal to $newest:literal;)*) => {
        $(mod $name {
            const RELEASE: crate::old_meltano::Release = crate::old_meltano::Release {
                version: $version,
                revision: $revision,
                pythons: ($oldest, $newest),
            };
            #[tokio::test]
            async fn sqlite() {
                super::release_upgrade_matches_meltano(RELEASE, meltano_db::Dialect::Sqlite).await;
            }
            #[tokio::test]
            async fn postgres() {
                super::release_upgrade_matches_meltano(RELEASE, meltano_db::Dialect::Postgres).await;
            }
        })*
    };
}

// One release for each revision an old database can be at; 2.7.0 is the only one whose `f4c225a9492f` made a
// `state` table (keyed by `job_name`) that the next revision replaces.
releases! {
    meltano_2_0_3: "2.0.3" at "13e8639c6d2b" with python minor 7 to 9;
    meltano_2_6_0: "2.6.0" at "5b43800443d1" with python minor 7 to 9;
    meltano_2_7_0: "2.7.0" at "f4c225a9492f" with python minor 7 to 10;
    meltano_2_20_0: "2.20.0" at "6828cc5b1a4f" with python minor 7 to 11;
    meltano_3_7_9: "3.7.9" at "6828cc5b1a4f" with python minor 9 to 12;
}

async fn release_upgrade_matches_meltano(release: Release, dialect: Dialect) {
    let Prepared {
        old: ours,
        reference,
        reference_state_list,
    } = match old_meltano::prepare(release, dialect) {
        Ok(prepared) => prepared,
        Err(skip) => {
            skip.report();
            return;
        }
    };
    assert_eq!(
        ours.strings("SELECT version_num FROM alembic_version")
            .await,
        [release.revision]
    );
    let history_before = history(&ours).await;
    let settings_before = settings(&ours).await;
    assert!(history_before.len() >= 7, "{history_before:#?}");
    assert_eq!(settings_before.len(), 1, "{settings_before:#?}");

    let db = SystemDb::open(&ours.config()).await.unwrap();
    assert_eq!(db.revision().await.unwrap().as_deref(), Some(HEAD_REVISION));
    db.close().await;

    assert_same_database(&ours, &reference).await;
    assert_eq!(
        history(&ours).await,
        history_before,
        "the run history is kept"
    );
    assert_eq!(
        settings(&ours).await,
        settings_before,
        "the stored settings are kept"
    );
    let states = ours
        .strings("SELECT state_id FROM state ORDER BY state_id")
        .await;
    assert!(
        states.contains(&"dev:tap-fake-to-target-fake".to_owned()),
        "{states:?}"
    );
    // Python Meltano opens what we made as it opens what it made itself.
    let listed =
        old_meltano::reference_state_list(&ours).unwrap_or_else(|Skip(why)| panic!("{why}"));
    assert_eq!(listed, reference_state_list);
}

/// Asserts two databases are the same: columns, keys, indexes and sequences, every row, and the text a dump of
/// the schema shows (SQLite's `sqlite_master`, PostgreSQL's `pg_dump --schema-only`).
async fn assert_same_database(ours: &Fixture, reference: &Fixture) {
    assert_eq!(ours.schema().await, reference.schema().await);
    assert_eq!(ours.rows().await, reference.rows().await);
    match ours.dialect {
        Dialect::Sqlite => {
            for sql in [
                "SELECT type || '|' || name || '|' || tbl_name || '|' || coalesce(sql, '') \
                 FROM sqlite_master ORDER BY rowid",
                // The order `meltano state list` shows on SQLite.
                "SELECT rowid || '|' || state_id FROM state ORDER BY rowid",
            ] {
                assert_eq!(
                    ours.strings(sql).await,
                    reference.strings(sql).await,
                    "{sql}"
                );
            }
        }
        Dialect::Postgres => {
            let server = meltano_test::PgServer::shared().unwrap();
            let dump = |db: &str| {
                let text = server.dump(db, &["--schema-only"]).unwrap();
                // pg_dump guards its output with a random key; the rest is deterministic.
                text.lines()
                    .filter(|line| {
                        !line.starts_with("\\restrict") && !line.starts_with("\\unrestrict")
                    })
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            };
            assert_eq!(dump(ours.pg_database()), dump(reference.pg_database()));
        }
    }
}

/// Every run, in the table the database has (`job` before Meltano 2.2, `runs` since), as lossless text.
async fn history(fixture: &Fixture) -> Vec<String> {
    let table = if fixture
        .strings(match fixture.dialect {
            Dialect::Sqlite => "SELECT name FROM sqlite_master WHERE name = 'job'",
            Dialect::Postgres => {
                "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'job'"
            }
        })
        .await
        .is_empty()
    {
        ("runs", "job_name")
    } else {
        ("job", "job_id")
    };
    let sql = match fixture.dialect {
        Dialect::Sqlite => format!(
            "SELECT quote(id) || '|' || quote({name}) || '|' || quote(state) || '|' || quote(started_at) || '|' \
             || quote(ended_at) || '|' || quote(payload) || '|' || quote(payload_flags) || '|' || quote(run_id) \
             || '|' || quote(\"trigger\") || '|' || quote(last_heartbeat_at) FROM {table} ORDER BY id",
            table = table.0,
            name = table.1
        ),
        Dialect::Postgres => format!("SELECT t::text FROM {} t ORDER BY id", table.0),
    };
    fixture.strings(&sql).await
}

async fn settings(fixture: &Fixture) -> Vec<String> {
    let sql = match fixture.dialect {
        Dialect::Sqlite => {
            "SELECT quote(label) || '|' || quote(description) || '|' || quote(name) || '|' || quote(namespace) \
             || '|' || quote(value) || '|' || quote(enabled) FROM plugin_settings ORDER BY namespace, name"
        }
        Dialect::Postgres => "SELECT t::text FROM plugin_settings t ORDER BY namespace, name",
    };
    fixture.strings(sql).await
}

/// A database at Meltano 2.0's head as its migrations create it (with the column types Meltano 4.4.1's
/// migrations give, so the upgraded schema equals a new one), the web UI's tables included.
const SQLITE_AT_2_0: &[&str] = &[
    "CREATE TABLE alembic_version (\n\tversion_num VARCHAR(32) NOT NULL, \n\t\
     CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n)",
    "CREATE TABLE job (\n\tid INTEGER NOT NULL, \n\tjob_id VARCHAR, \n\tstate VARCHAR(7), \n\tstarted_at DATETIME, \
     \n\tended_at DATETIME, \n\tpayload VARCHAR, \n\tpayload_flags INTEGER, run_id CHAR(32), \"trigger\" VARCHAR, \
     last_heartbeat_at DATETIME, \n\tPRIMARY KEY (id)\n)",
    "CREATE TABLE plugin_settings (\n\tlabel VARCHAR(255), \n\tdescription TEXT, \n\tname VARCHAR(255) NOT NULL, \
     \n\tnamespace VARCHAR(255), \n\tvalue BLOB, \n\tenabled BOOLEAN, \n\tPRIMARY KEY (name, namespace)\n)",
    "CREATE TABLE user (id INTEGER NOT NULL, username VARCHAR(255), email VARCHAR(255), password VARCHAR(255), \
     active BOOLEAN, confirmed_at DATETIME, last_login_at DATETIME, login_count INTEGER, \
     last_activity_at DATETIME, PRIMARY KEY (id), UNIQUE (email))",
    "CREATE UNIQUE INDEX ix_user_username ON user (username)",
    "CREATE TABLE role (id INTEGER NOT NULL, name VARCHAR(80), description VARCHAR(255), PRIMARY KEY (id), \
     UNIQUE (name))",
    "CREATE TABLE roles_users (id INTEGER NOT NULL, user_id INTEGER, role_id INTEGER, PRIMARY KEY (id), \
     FOREIGN KEY(role_id) REFERENCES role (id), FOREIGN KEY(user_id) REFERENCES user (id))",
    "CREATE TABLE role_permissions (id INTEGER NOT NULL, role_id INTEGER, type VARCHAR, context VARCHAR, \
     PRIMARY KEY (id), FOREIGN KEY(role_id) REFERENCES role (id))",
    "CREATE TABLE oauth (id INTEGER NOT NULL, user_id INTEGER, provider_id VARCHAR(255), provider_user_id INTEGER, \
     access_token VARCHAR(255), created_at DATETIME, id_token VARCHAR, PRIMARY KEY (id), \
     FOREIGN KEY(user_id) REFERENCES user (id))",
    "CREATE TABLE embed_tokens (id INTEGER NOT NULL, token VARCHAR(64), resource_id VARCHAR NOT NULL, \
     created_at DATETIME, resource_type VARCHAR, PRIMARY KEY (id), UNIQUE (token))",
    "CREATE TABLE subscriptions (id CHAR(32) NOT NULL, recipient VARCHAR(255) NOT NULL, \
     event_type VARCHAR(255) NOT NULL, source_type VARCHAR(255), source_id VARCHAR(255), created_at DATETIME, \
     PRIMARY KEY (id), UNIQUE (recipient, event_type, source_type, source_id))",
];

const POSTGRES_AT_2_0: &[&str] = &[
    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, \
     CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))",
    "CREATE TABLE job (id SERIAL NOT NULL, job_id VARCHAR, state VARCHAR, started_at TIMESTAMP WITHOUT TIME ZONE, \
     ended_at TIMESTAMP WITHOUT TIME ZONE, payload VARCHAR, payload_flags INTEGER, run_id UUID, \
     \"trigger\" VARCHAR, last_heartbeat_at TIMESTAMP WITHOUT TIME ZONE, PRIMARY KEY (id))",
    "CREATE TABLE plugin_settings (label VARCHAR(255), description TEXT, name VARCHAR(255) NOT NULL, \
     namespace VARCHAR(255) NOT NULL, value BYTEA, enabled BOOLEAN, PRIMARY KEY (name, namespace))",
    "CREATE TABLE \"user\" (id SERIAL NOT NULL, username VARCHAR(255), email VARCHAR(255), password VARCHAR(255), \
     active BOOLEAN, confirmed_at TIMESTAMP WITHOUT TIME ZONE, last_login_at TIMESTAMP WITHOUT TIME ZONE, \
     login_count INTEGER, last_activity_at TIMESTAMP WITHOUT TIME ZONE, PRIMARY KEY (id), UNIQUE (email))",
    "CREATE UNIQUE INDEX ix_user_username ON \"user\" (username)",
    "CREATE TABLE role (id SERIAL NOT NULL, name VARCHAR(80), description VARCHAR(255), PRIMARY KEY (id), \
     UNIQUE (name))",
    "CREATE TABLE roles_users (id SERIAL NOT NULL, user_id INTEGER, role_id INTEGER, PRIMARY KEY (id), \
     FOREIGN KEY(role_id) REFERENCES role (id), FOREIGN KEY(user_id) REFERENCES \"user\" (id))",
    "CREATE TABLE role_permissions (id SERIAL NOT NULL, role_id INTEGER, type VARCHAR, context VARCHAR, \
     PRIMARY KEY (id), FOREIGN KEY(role_id) REFERENCES role (id))",
    "CREATE TABLE oauth (id SERIAL NOT NULL, user_id INTEGER, provider_id VARCHAR(255), provider_user_id INTEGER, \
     access_token VARCHAR(255), created_at TIMESTAMP WITHOUT TIME ZONE, id_token VARCHAR, PRIMARY KEY (id), \
     FOREIGN KEY(user_id) REFERENCES \"user\" (id))",
    "CREATE TABLE embed_tokens (id SERIAL NOT NULL, token VARCHAR(64), resource_id VARCHAR NOT NULL, \
     created_at TIMESTAMP WITHOUT TIME ZONE, resource_type VARCHAR, PRIMARY KEY (id), UNIQUE (token))",
    "CREATE TABLE subscriptions (id UUID NOT NULL, recipient VARCHAR(255) NOT NULL, \
     event_type VARCHAR(255) NOT NULL, source_type VARCHAR(255), source_id VARCHAR(255), \
     created_at TIMESTAMP WITHOUT TIME ZONE, PRIMARY KEY (id), \
     UNIQUE (recipient, event_type, source_type, source_id))",
];

/// Rows of the web UI's tables (which the upgrade drops) and of the tables it keeps.
const UI_AND_SETTINGS_ROWS: &[&str] = &[
    "INSERT INTO \"user\" (id, username, email, active, login_count) VALUES (1, 'ann', 'ann@example.com', true, 0)",
    "INSERT INTO role (id, name) VALUES (1, 'admin')",
    "INSERT INTO roles_users (id, user_id, role_id) VALUES (1, 1, 1)",
    "INSERT INTO role_permissions (id, role_id, type, context) VALUES (1, 1, 'view:reports', '*')",
    "INSERT INTO oauth (id, user_id, provider_id) VALUES (1, 1, 'gitlab')",
    "INSERT INTO embed_tokens (id, token, resource_id, resource_type) VALUES (1, 't0k3n', 'r', 'report')",
    "INSERT INTO subscriptions (id, recipient, event_type) VALUES \
     ('0f1e2d3c4b5a69788796a5b4c3d2e1f0', 'ann@example.com', 'pipeline_manual_run')",
];

/// Runs `(id, job_id, state, ended_at, payload, payload_flags)` covering the rules by which Meltano's
/// `6828cc5b1a4f` rebuilds state from history; the expected records are in [`EXPECTED_STATE`].
type Run = (
    i64,
    Option<&'static str>,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    i32,
);

const HISTORY: &[Run] = &[
    // `a`: the latest complete state (with all of its payload) then later incomplete ones by end time.
    (
        1,
        Some("a"),
        "SUCCESS",
        Some("2024-01-01 00:00:01.000000"),
        Some(r#"{"singer_state": {"b": {"s": 1, "old": true}}}"#),
        1,
    ),
    (
        2,
        Some("a"),
        "FAIL",
        Some("2024-01-01 00:00:03.000000"),
        Some(r#"{"singer_state": {"b": {"s": 3}}, "error": "Loader failed"}"#),
        1,
    ),
    (
        3,
        Some("a"),
        "SUCCESS",
        Some("2024-01-01 00:00:02.000000"),
        Some(r#"{"singer_state": {"b": {"before": 2}}}"#),
        2,
    ),
    (
        4,
        Some("a"),
        "SUCCESS",
        Some("2024-01-01 00:00:05.000000"),
        Some(r#"{"singer_state": {"b": {"t": 5, "s": 4}}}"#),
        2,
    ),
    (
        5,
        Some("a"),
        "STATE_EDIT",
        Some("2024-01-01 00:00:04.000000"),
        Some(r#"{"singer_state": {"b": {"t": 4, "u": {"v": [1, 2]}}}}"#),
        2,
    ),
    (
        6,
        Some("a"),
        "RUNNING",
        None,
        Some(r#"{"singer_state": {"b": {"s": 99}}}"#),
        2,
    ),
    (
        7,
        Some("a"),
        "SUCCESS",
        Some("2024-01-01 00:00:06.000000"),
        Some(r#"{"other": 1}"#),
        2,
    ),
    // `b`: incomplete state only.
    (
        8,
        Some("b"),
        "STATE_EDIT",
        Some("2024-01-02 00:00:01.000000"),
        Some(r#"{"singer_state": {"x": 1}}"#),
        2,
    ),
    (
        9,
        Some("b"),
        "STATE_EDIT",
        Some("2024-01-02 00:00:02.000000"),
        Some(r#"{"singer_state": {"y": "caf\u00e9", "f": 1.0, "g": 1.5e300}}"#),
        2,
    ),
    // `c`: cleared after an incomplete state: the cut-off holds without a `singer_state`.
    (
        10,
        Some("c"),
        "STATE_EDIT",
        Some("2024-01-03 00:00:01.000000"),
        Some(r#"{"singer_state": {"c": 1}}"#),
        2,
    ),
    (
        11,
        Some("c"),
        "STATE_EDIT",
        Some("2024-01-03 00:00:02.000000"),
        Some("{}"),
        1,
    ),
    // `d`: runs that saved no state still get an (empty) record.
    (
        12,
        Some("d"),
        "SUCCESS",
        Some("2024-01-04 00:00:01.000000"),
        Some("{}"),
        0,
    ),
    (
        13,
        Some("d"),
        "SUCCESS",
        Some("2024-01-04 00:00:02.000000"),
        Some(r#"{"singer_state": {"d": 1}}"#),
        3,
    ),
    // `e`: the cut-off is compared as the timestamp Meltano read back (on SQLite, the text re-rendered with
    // microseconds), so a run that ended at the same instant is not "after" it.
    (
        14,
        Some("e"),
        "SUCCESS",
        Some("2024-01-05 00:00:00"),
        Some(r#"{"singer_state": {"e": 1}}"#),
        1,
    ),
    (
        15,
        Some("e"),
        "STATE_EDIT",
        Some("2024-01-05 00:00:00.000000"),
        Some(r#"{"singer_state": {"e": 2}}"#),
        2,
    ),
    (
        16,
        Some("e"),
        "STATE_EDIT",
        Some("2024-01-05 00:00:00.000001"),
        Some(r#"{"singer_state": {"f": 3}}"#),
        2,
    ),
];

/// `(state_id, partial_state)` after the upgrade, as Meltano 4.4.1 writes them; `completed_state` is `{}` and
/// `updated_at` NULL in every record rebuilt from history.
const EXPECTED_STATE: &[(&str, &str)] = &[
    (
        "a",
        r#"{"singer_state": {"b": {"s": 4, "t": 5, "u": {"v": [1, 2]}}}, "error": "Loader failed"}"#,
    ),
    (
        "b",
        r#"{"singer_state": {"x": 1, "y": "caf\u00e9", "f": 1.0, "g": 1.5e+300}}"#,
    ),
    ("c", "{}"),
    ("d", r#"{"singer_state": {"d": 1}}"#),
    ("e", r#"{"singer_state": {"e": 1, "f": 3}}"#),
];

/// Creates the tables of Meltano 2.0's revision (recording no revision).
async fn create_tables_at_meltano_2_0(fixture: &Fixture) {
    fixture
        .exec(match fixture.dialect {
            Dialect::Sqlite => SQLITE_AT_2_0,
            Dialect::Postgres => POSTGRES_AT_2_0,
        })
        .await;
}

/// Fills `fixture` as a database at Meltano 2.0's revision with [`HISTORY`], the UI tables' rows and a stored
/// setting.
async fn at_meltano_2_0(fixture: Fixture) -> Fixture {
    let dialect = fixture.dialect;
    create_tables_at_meltano_2_0(&fixture).await;
    fixture.exec(UI_AND_SETTINGS_ROWS).await;
    let mut statements = vec![
        format!("INSERT INTO alembic_version (version_num) VALUES ('{MELTANO_2_0}')"),
        "INSERT INTO plugin_settings (name, namespace, value, enabled) VALUES \
         ('password', 'extractors.tap-x.default', X'8004950b000000000000008c0768756e74657232942e', true)"
            .to_owned(),
    ];
    if dialect == Dialect::Postgres {
        statements[1] = statements[1].replace("X'8004", "'\\x8004");
    }
    for (id, name, state, ended_at, payload, flags) in HISTORY {
        let quote = |v: Option<&str>| {
            v.map_or("NULL".to_owned(), |v| {
                format!("'{}'", v.replace('\'', "''"))
            })
        };
        let run_id = format!("{id:032x}");
        statements.push(format!(
            "INSERT INTO job (id, job_id, state, started_at, ended_at, payload, payload_flags, run_id, \"trigger\", \
             last_heartbeat_at) VALUES ({id}, {}, '{state}', '2024-01-01 00:00:00.000000', {}, {}, {flags}, \
             '{run_id}', 'cli', NULL)",
            quote(*name),
            quote(*ended_at),
            quote(*payload)
        ));
    }
    if dialect == Dialect::Postgres {
        // As if the rows had been inserted through the id sequence.
        statements.push(format!("SELECT setval('job_id_seq', {})", HISTORY.len()));
    }
    let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
    fixture.exec(&statements).await;
    fixture
}

async fn hand_built_database_upgrades_like_meltano(ours: Fixture) {
    let dialect = ours.dialect;
    let ours = at_meltano_2_0(ours).await;
    let history_before = history(&ours).await;
    let settings_before = settings(&ours).await;
    assert_eq!(history_before.len(), HISTORY.len());

    let db = SystemDb::open(&ours.config()).await.unwrap();
    assert_eq!(db.revision().await.unwrap().as_deref(), Some(HEAD_REVISION));
    db.close().await;

    // The rows we keep are untouched.
    assert_eq!(history(&ours).await, history_before);
    assert_eq!(settings(&ours).await, settings_before);
    // The web UI's tables are gone; nothing else is left over.
    let tables = match dialect {
        Dialect::Sqlite => {
            "SELECT type || ' ' || name FROM sqlite_master WHERE name NOT LIKE 'sqlite_autoindex%' ORDER BY name"
        }
        Dialect::Postgres => {
            "SELECT relkind::text || ' ' || relname FROM pg_class \
             WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'S', 'i') ORDER BY relname"
        }
    };
    let expected: &[&str] = match dialect {
        Dialect::Sqlite => &[
            "table alembic_version",
            "table plugin_settings",
            "table runs",
            "table state",
        ],
        Dialect::Postgres => &[
            "r alembic_version",
            "i alembic_version_pkc",
            "S job_id_seq",
            "i job_pkey",
            "r plugin_settings",
            "i plugin_settings_pkey",
            "r runs",
            "r state",
            "i state_pkey",
        ],
    };
    assert_eq!(ours.strings(tables).await, expected);
    // State rebuilt from history, in the order Meltano inserts it.
    let state = match dialect {
        Dialect::Sqlite => {
            "SELECT state_id || '|' || partial_state || '|' || completed_state || '|' || quote(updated_at) \
             FROM state ORDER BY rowid"
        }
        Dialect::Postgres => {
            "SELECT state_id || '|' || partial_state || '|' || completed_state || '|' \
             || coalesce(updated_at::text, 'NULL') FROM state ORDER BY state_id"
        }
    };
    let expected: Vec<String> = EXPECTED_STATE
        .iter()
        .map(|(id, partial)| format!("{id}|{partial}|{{}}|NULL"))
        .collect();
    assert_eq!(ours.strings(state).await, expected);
    if dialect == Dialect::Sqlite {
        // SQLite rewrote the renamed table's text in place.
        assert_eq!(
            ours.strings("SELECT sql FROM sqlite_master WHERE name = 'runs'")
                .await,
            [
                "CREATE TABLE \"runs\" (\n\tid INTEGER NOT NULL, \n\tjob_name VARCHAR, \n\tstate VARCHAR(7), \
              \n\tstarted_at DATETIME, \n\tended_at DATETIME, \n\tpayload VARCHAR, \n\tpayload_flags INTEGER, \
              run_id CHAR(32), \"trigger\" VARCHAR, last_heartbeat_at DATETIME, \n\tPRIMARY KEY (id)\n)"
            ]
        );
    }
    // The same schema as a database Meltano 4.4.1 creates.
    let new = match dialect {
        Dialect::Sqlite => Fixture::sqlite(),
        Dialect::Postgres => Fixture::postgres(),
    };
    new.create_reference_schema(HEAD_REVISION).await;
    assert_eq!(ours.schema().await, new.schema().await);

    // And the same database as Meltano 4.4.1's own upgrade of it.
    let theirs = at_meltano_2_0(match dialect {
        Dialect::Sqlite => Fixture::sqlite(),
        Dialect::Postgres => Fixture::postgres(),
    })
    .await;
    let listed = match old_meltano::reference_state_list(&theirs) {
        Ok(listed) => listed,
        Err(skip) => {
            skip.report();
            return;
        }
    };
    assert_same_database(&ours, &theirs).await;
    assert_eq!(old_meltano::reference_state_list(&ours).ok(), Some(listed));
}
both_dialects!(hand_built_database_upgrades_like_meltano);

/// History on which Meltano's own migration fails (see docs/compatibility.md) is upgraded: a run without a name
/// gets no record, a payload that is not JSON counts for nothing, and an object merged over a scalar wins.
async fn history_meltano_cannot_migrate_is_upgraded(fixture: Fixture) {
    create_tables_at_meltano_2_0(&fixture).await;
    fixture
        .exec(&[
            "INSERT INTO alembic_version (version_num) VALUES ('13e8639c6d2b')",
            "INSERT INTO job (id, job_id, state, ended_at, payload, payload_flags) VALUES \
             (1, NULL, 'SUCCESS', '2024-01-01 00:00:00', '{\"singer_state\": {}}', 1)",
            "INSERT INTO job (id, job_id, state, ended_at, payload, payload_flags) VALUES \
             (2, 'named', 'SUCCESS', '2024-01-01 00:00:00', 'not JSON', 1)",
            "INSERT INTO job (id, job_id, state, ended_at, payload, payload_flags) VALUES \
             (3, 'merged', 'SUCCESS', '2024-01-01 00:00:00', '{\"singer_state\": {\"x\": 1}}', 1)",
            "INSERT INTO job (id, job_id, state, ended_at, payload, payload_flags) VALUES \
             (4, 'merged', 'SUCCESS', '2024-01-01 00:00:01', '{\"singer_state\": {\"x\": {\"y\": 2}}}', 2)",
        ])
        .await;
    let db = SystemDb::open(&fixture.config()).await.unwrap();
    db.close().await;
    assert_eq!(
        fixture
            .strings("SELECT state_id || '|' || partial_state FROM state ORDER BY state_id")
            .await,
        ["merged|{\"singer_state\": {\"x\": {\"y\": 2}}}", "named|{}"]
    );
    assert_eq!(history(&fixture).await.len(), 4);
}
both_dialects!(history_meltano_cannot_migrate_is_upgraded);

async fn state_table_of_meltano_2_7_0_is_replaced(fixture: Fixture) {
    create_tables_at_meltano_2_0(&fixture).await;
    fixture
        .exec(&[
            "ALTER TABLE job RENAME COLUMN job_id TO job_name",
            "ALTER TABLE job RENAME TO runs",
            "CREATE TABLE state (job_name VARCHAR(900) NOT NULL, partial_state VARCHAR, completed_state VARCHAR, \
             updated_at TIMESTAMP, PRIMARY KEY (job_name), UNIQUE (job_name))",
            "INSERT INTO state (job_name, partial_state, completed_state) VALUES ('gone', '{}', '{}')",
            "INSERT INTO alembic_version (version_num) VALUES ('f4c225a9492f')",
            "INSERT INTO runs (id, job_name, state, ended_at, payload, payload_flags) VALUES \
             (1, 'kept', 'SUCCESS', '2024-01-01 00:00:00', '{\"singer_state\": {\"k\": 1}}', 1)",
        ])
        .await;
    let db = SystemDb::open(&fixture.config()).await.unwrap();
    assert_eq!(db.revision().await.unwrap().as_deref(), Some(HEAD_REVISION));
    db.close().await;
    assert_eq!(
        fixture
            .strings("SELECT state_id || '|' || partial_state || '|' || completed_state FROM state")
            .await,
        ["kept|{\"singer_state\": {\"k\": 1}}|{}"]
    );
}
both_dialects!(state_table_of_meltano_2_7_0_is_replaced);

/// A step that fails leaves the database exactly as it was: the upgrade is one transaction.
async fn failed_upgrade_changes_nothing(fixture: Fixture) {
    create_tables_at_meltano_2_0(&fixture).await;
    fixture
        .exec(&[
            "INSERT INTO alembic_version (version_num) VALUES ('5b43800443d1')",
            "ALTER TABLE job RENAME COLUMN job_id TO job_name",
            "ALTER TABLE job RENAME TO runs",
            "INSERT INTO runs (id, job_name, state, ended_at, payload, payload_flags) VALUES \
             (1, 'x', 'SUCCESS', '2024-01-01 00:00:00', '{\"singer_state\": {}}', 1)",
            // The last step fails on a view where it expects the `role` table, after the `state` table was
            // made and other tables dropped.
            "DROP TABLE roles_users",
            "DROP TABLE role_permissions",
            "DROP TABLE role",
            "CREATE VIEW role AS SELECT 1 AS id",
        ])
        .await;
    let schema = fixture.schema().await;
    let rows = history(&fixture).await;
    let err = SystemDb::open(&fixture.config()).await.unwrap_err();
    assert!(matches!(err, DbError::Query { .. }), "{err:?}");
    assert_eq!(fixture.schema().await, schema);
    assert_eq!(history(&fixture).await, rows);
    assert_eq!(
        fixture
            .strings("SELECT version_num FROM alembic_version")
            .await,
        ["5b43800443d1"]
    );
}
both_dialects!(failed_upgrade_changes_nothing);

async fn concurrent_opens_upgrade_once(fixture: Fixture) {
    let ours = at_meltano_2_0(fixture).await;
    let config = ours.config();
    let (a, b) = tokio::join!(SystemDb::open(&config), SystemDb::open(&config));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.revision().await.unwrap().as_deref(), Some(HEAD_REVISION));
    a.close().await;
    b.close().await;
    assert_eq!(
        ours.strings("SELECT version_num FROM alembic_version")
            .await,
        [HEAD_REVISION]
    );
    assert_eq!(
        ours.strings("SELECT state_id FROM state ORDER BY state_id")
            .await,
        ["a", "b", "c", "d", "e"]
    );
}
both_dialects!(concurrent_opens_upgrade_once);

/// Python's sqlite3 leaves foreign keys unenforced, so alembic drops the old UI's tables even when a table of
/// the user's still points at them; so do we (PostgreSQL refuses the drop under both).
#[tokio::test]
async fn sqlite_foreign_keys_do_not_block_dropping_ui_tables() {
    let build = || async {
        let fixture = at_meltano_2_0(Fixture::sqlite()).await;
        fixture
            .exec(&[
                "CREATE TABLE notes (id INTEGER PRIMARY KEY, author INTEGER REFERENCES user (id))",
                "INSERT INTO notes (id, author) VALUES (1, 1)",
            ])
            .await;
        fixture
    };
    let ours = build().await;
    let db = SystemDb::open(&ours.config()).await.unwrap();
    assert_eq!(db.revision().await.unwrap().as_deref(), Some(HEAD_REVISION));
    db.close().await;
    assert_eq!(
        ours.strings("SELECT id || '|' || author FROM notes").await,
        ["1|1"]
    );
    assert!(
        ours.strings("SELECT name FROM sqlite_master WHERE name = 'user'")
            .await
            .is_empty()
    );

    let theirs = build().await;
    match old_meltano::reference_state_list(&theirs) {
        Ok(_) => assert_same_database(&ours, &theirs).await,
        Err(skip) => skip.report(),
    }
}
