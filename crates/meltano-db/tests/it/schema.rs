//! Creating Meltano's head schema, and opening databases Meltano created, without touching a row.

use meltano_db::{DbError, Dialect, HEAD_REVISION, SystemDb};

use crate::support::{Fixture, both_dialects, reference_pickles};

const TABLES: [&str; 4] = ["alembic_version", "plugin_settings", "runs", "state"];

async fn table_names(fixture: &Fixture) -> Vec<String> {
    let sql = match fixture.dialect {
        Dialect::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
        Dialect::Postgres => {
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
        }
    };
    fixture.strings(sql).await
}

async fn fresh_database_gets_the_head_schema(fixture: Fixture) {
    let db = SystemDb::open(&fixture.config()).await.unwrap();
    assert_eq!(db.dialect(), fixture.dialect);
    assert_eq!(db.revision().await.unwrap().as_deref(), Some(HEAD_REVISION));
    db.close().await;

    assert_eq!(table_names(&fixture).await, TABLES);
    let runs_columns = match fixture.dialect {
        Dialect::Sqlite => "SELECT name || ' ' || type FROM pragma_table_info('runs') ORDER BY cid",
        Dialect::Postgres => {
            "SELECT column_name || ' ' || data_type FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = 'runs' ORDER BY ordinal_position"
        }
    };
    let expected: &[&str] = match fixture.dialect {
        Dialect::Sqlite => &[
            "id INTEGER",
            "job_name VARCHAR",
            "state VARCHAR(7)",
            "started_at DATETIME",
            "ended_at DATETIME",
            "payload VARCHAR",
            "payload_flags INTEGER",
            "run_id CHAR(32)",
            "trigger VARCHAR",
            "last_heartbeat_at DATETIME",
        ],
        Dialect::Postgres => &[
            "id integer",
            "job_name character varying",
            "state character varying",
            "started_at timestamp without time zone",
            "ended_at timestamp without time zone",
            "payload character varying",
            "payload_flags integer",
            "run_id uuid",
            "trigger character varying",
            "last_heartbeat_at timestamp without time zone",
        ],
    };
    assert_eq!(fixture.strings(runs_columns).await, expected);
    if fixture.dialect == Dialect::Sqlite {
        assert_eq!(fixture.strings("PRAGMA journal_mode").await, ["wal"]);
    }

    // Column types, nullability, keys, defaults, indexes and sequences equal those of Meltano's own DDL.
    let reference = match fixture.dialect {
        Dialect::Sqlite => Fixture::sqlite(),
        Dialect::Postgres => Fixture::postgres(),
    };
    reference.create_reference_schema(HEAD_REVISION).await;
    assert_eq!(fixture.schema().await, reference.schema().await);
    assert_eq!(fixture.rows().await, reference.rows().await);
}
both_dialects!(fresh_database_gets_the_head_schema);

async fn opening_twice_is_idempotent(fixture: Fixture) {
    SystemDb::open(&fixture.config())
        .await
        .unwrap()
        .close()
        .await;
    let schema = fixture.schema().await;
    let rows = fixture.rows().await;
    let db = SystemDb::open(&fixture.config()).await.unwrap();
    assert_eq!(db.revision().await.unwrap().as_deref(), Some(HEAD_REVISION));
    db.close().await;
    assert_eq!(fixture.schema().await, schema);
    assert_eq!(fixture.rows().await, rows);
}
both_dialects!(opening_twice_is_idempotent);

async fn concurrent_first_opens_both_succeed(fixture: Fixture) {
    let config = fixture.config();
    let (a, b) = tokio::join!(SystemDb::open(&config), SystemDb::open(&config));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(b.revision().await.unwrap().as_deref(), Some(HEAD_REVISION));
    a.close().await;
    b.close().await;
    assert_eq!(
        fixture
            .strings("SELECT version_num FROM alembic_version")
            .await,
        [HEAD_REVISION]
    );
}
both_dialects!(concurrent_first_opens_both_succeed);

async fn meltano_database_is_kept_byte_for_byte(fixture: Fixture) {
    fixture.create_reference_schema(HEAD_REVISION).await;
    fixture.insert_reference_rows().await;
    let schema = fixture.schema().await;
    let rows = fixture.rows().await;
    assert_eq!(
        rows.iter().filter(|row| row.starts_with("runs|")).count(),
        2,
        "{rows:#?}"
    );
    let dump = rows.join("\n").to_ascii_lowercase();
    for pickle in reference_pickles() {
        assert!(dump.contains(pickle), "{pickle} not in {dump}");
    }

    let db = SystemDb::open(&fixture.config()).await.unwrap();
    assert_eq!(db.revision().await.unwrap().as_deref(), Some(HEAD_REVISION));
    db.close().await;

    assert_eq!(fixture.schema().await, schema);
    assert_eq!(fixture.rows().await, rows);
}
both_dialects!(meltano_database_is_kept_byte_for_byte);

async fn other_revision_is_refused(fixture: Fixture) {
    fixture.create_reference_schema("d135f52a6f49").await;
    fixture.insert_reference_rows().await;
    let rows = fixture.rows().await;

    let err = SystemDb::open(&fixture.config()).await.unwrap_err();
    assert!(
        matches!(&err, DbError::UnknownRevision { revision } if revision == "d135f52a6f49"),
        "{err:?}"
    );
    let message = err.to_string();
    for needle in [
        "`d135f52a6f49`",
        "older or newer Meltano",
        "Meltano 2.0 or later",
        "meltano upgrade database",
        HEAD_REVISION,
    ] {
        assert!(message.contains(needle), "{needle:?} not in {message}");
    }
    assert_eq!(fixture.rows().await, rows);
}
both_dialects!(other_revision_is_refused);

async fn tables_without_revision_are_refused(fixture: Fixture) {
    fixture
        .exec(&["CREATE TABLE runs (id INTEGER PRIMARY KEY)"])
        .await;
    let err = SystemDb::open(&fixture.config()).await.unwrap_err();
    assert!(
        matches!(&err, DbError::UnversionedSchema { tables } if tables == "`runs`"),
        "{err:?}"
    );
    assert_eq!(table_names(&fixture).await, ["runs"]);
}
both_dialects!(tables_without_revision_are_refused);

async fn empty_version_table_gets_the_schema(fixture: Fixture) {
    fixture
        .exec(&[
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, \
                 CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))",
        ])
        .await;
    let db = SystemDb::open(&fixture.config()).await.unwrap();
    assert_eq!(db.revision().await.unwrap().as_deref(), Some(HEAD_REVISION));
    db.close().await;
    assert_eq!(table_names(&fixture).await, TABLES);
}
both_dialects!(empty_version_table_gets_the_schema);
