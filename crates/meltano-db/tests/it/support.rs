//! Fixtures shared by the integration tests: a database of each dialect, raw SQL access that bypasses the
//! code under test, Meltano 4.4.1's own DDL, and dumps that compare schemas and rows exactly.

use std::path::PathBuf;
use std::time::Duration;

use meltano_db::{DbConfig, Dialect};
use meltano_test::PgServer;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, AssertSqlSafe};
use tempfile::TempDir;

/// Runs `$body` (an async fn taking a `Fixture`) once per dialect, as tests `sqlite` and `postgres` in a
/// module named after the function.
macro_rules! both_dialects {
    ($case:ident) => {
        mod $case {
            #[tokio::test]
            async fn sqlite() {
                super::$case(crate::support::Fixture::sqlite()).await;
            }
            #[tokio::test]
            async fn postgres() {
                super::$case(crate::support::Fixture::postgres()).await;
            }
        }
    };
}
pub(crate) use both_dialects;

/// An empty database of one dialect, kept alive as long as the fixture.
pub struct Fixture {
    pub dialect: Dialect,
    /// The SQLAlchemy-style URI handed to `SystemDb::open`.
    pub uri: String,
    /// A plain sqlx URL for raw access.
    raw_url: String,
    /// The SQLite file, or the PostgreSQL database's name.
    location: String,
    _dir: Option<TempDir>,
}

impl Fixture {
    pub fn sqlite() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meltano.db");
        Fixture::sqlite_at(path, dir)
    }

    /// A SQLite database at `path` (which may not exist yet) inside `dir`.
    pub fn sqlite_at(path: PathBuf, dir: TempDir) -> Fixture {
        let path = path.to_str().unwrap();
        Fixture {
            dialect: Dialect::Sqlite,
            uri: format!("sqlite:///{path}"),
            raw_url: format!(
                "sqlite://{}?mode=rwc",
                path.replace('%', "%25").replace(' ', "%20")
            ),
            location: path.to_owned(),
            _dir: Some(dir),
        }
    }

    pub fn postgres() -> Fixture {
        let server = PgServer::shared().expect("PostgreSQL is required for these tests");
        let db = server.fresh_database("it").unwrap();
        Fixture {
            dialect: Dialect::Postgres,
            uri: server.uri(&db),
            raw_url: format!("postgres://postgres@127.0.0.1:{}/{db}", server.port()),
            location: db,
            _dir: None,
        }
    }

    /// The database name of a PostgreSQL fixture, on `PgServer::shared()`.
    pub fn pg_database(&self) -> &str {
        assert_eq!(self.dialect, Dialect::Postgres);
        &self.location
    }

    pub fn config(&self) -> DbConfig {
        DbConfig {
            uri: self.uri.clone(),
            max_retries: 0,
            retry_timeout: Duration::ZERO,
        }
    }

    /// A pool that reaches the database without going through `SystemDb`.
    pub async fn raw(&self) -> AnyPool {
        sqlx::any::install_default_drivers();
        AnyPoolOptions::new()
            .max_connections(1)
            .connect(&self.raw_url)
            .await
            .unwrap()
    }

    /// Runs statements one by one on a raw connection.
    pub async fn exec(&self, statements: &[&str]) {
        let pool = self.raw().await;
        for statement in statements {
            sqlx::query(AssertSqlSafe(*statement))
                .execute(&pool)
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        pool.close().await;
    }

    /// Single-text-column query results, one string per row.
    pub async fn strings(&self, sql: &str) -> Vec<String> {
        let pool = self.raw().await;
        let rows: Vec<String> = sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_all(&pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        pool.close().await;
        rows
    }

    /// Builds the database exactly as Meltano 4.4.1 leaves it, recording `revision`.
    pub async fn create_reference_schema(&self, revision: &str) {
        let ddl = match self.dialect {
            Dialect::Sqlite => REFERENCE_SQLITE_DDL,
            Dialect::Postgres => REFERENCE_POSTGRES_DDL,
        };
        self.exec(ddl).await;
        let insert = format!("INSERT INTO alembic_version (version_num) VALUES ('{revision}')");
        self.exec(&[&insert]).await;
    }

    /// Inserts runs, state and plugin settings like a few Meltano runs would have.
    pub async fn insert_reference_rows(&self) {
        let rows = match self.dialect {
            Dialect::Sqlite => REFERENCE_SQLITE_ROWS,
            Dialect::Postgres => REFERENCE_POSTGRES_ROWS,
        };
        self.exec(rows).await;
    }

    /// Every table's columns, keys, defaults and indexes, one line each, in a stable order.
    pub async fn schema(&self) -> Vec<String> {
        let queries: &[&str] = match self.dialect {
            Dialect::Sqlite => &[
                "SELECT m.name || '|' || p.cid || '|' || p.name || '|' || p.type || '|' || p.\"notnull\" || '|' \
                 || p.pk || '|' || coalesce(p.dflt_value, '') \
                 FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' \
                 ORDER BY m.name, p.cid",
                "SELECT m.name || '|' || i.name || '|' || i.\"unique\" || '|' || i.origin \
                 FROM sqlite_master m JOIN pragma_index_list(m.name) i WHERE m.type = 'table' \
                 ORDER BY m.name, i.name",
            ],
            Dialect::Postgres => &[
                "SELECT concat_ws('|', table_name, ordinal_position, column_name, data_type, \
                 character_maximum_length, is_nullable, column_default) \
                 FROM information_schema.columns WHERE table_schema = current_schema() \
                 ORDER BY table_name, ordinal_position",
                "SELECT concat_ws('|', conrelid::regclass::text, conname, pg_get_constraintdef(oid)) \
                 FROM pg_constraint WHERE connamespace = current_schema()::regnamespace ORDER BY 1",
                "SELECT concat_ws('|', indexname, indexdef) FROM pg_indexes \
                 WHERE schemaname = current_schema() ORDER BY 1",
                "SELECT concat_ws('|', sequencename, data_type, pg_get_serial_sequence('runs', 'id')) \
                 FROM pg_sequences WHERE schemaname = current_schema() ORDER BY 1",
                "SELECT concat_ws('|', relname, relkind) FROM pg_class \
                 WHERE relnamespace = current_schema()::regnamespace ORDER BY 1",
            ],
        };
        let mut lines = Vec::new();
        for query in queries {
            lines.extend(self.strings(query).await);
        }
        lines
    }

    /// Every row of every Meltano table (and the `runs` id sequence), rendered losslessly: SQLite `quote()`
    /// keeps storage classes and blob bytes, PostgreSQL's row-to-text keeps bytea as hex and full timestamps.
    pub async fn rows(&self) -> Vec<String> {
        let tables: &[(&str, &[&str], &str)] = &[
            ("alembic_version", &["version_num"], "version_num"),
            (
                "runs",
                &[
                    "id",
                    "job_name",
                    "state",
                    "started_at",
                    "ended_at",
                    "payload",
                    "payload_flags",
                    "run_id",
                    "trigger",
                    "last_heartbeat_at",
                ],
                "id",
            ),
            (
                "state",
                &["state_id", "partial_state", "completed_state", "updated_at"],
                "state_id",
            ),
            (
                "plugin_settings",
                &[
                    "label",
                    "description",
                    "name",
                    "namespace",
                    "value",
                    "enabled",
                ],
                "namespace, name",
            ),
        ];
        let mut lines = Vec::new();
        for (table, columns, order) in tables {
            let sql = match self.dialect {
                Dialect::Sqlite => {
                    let quoted: Vec<String> =
                        columns.iter().map(|c| format!("quote(\"{c}\")")).collect();
                    format!(
                        "SELECT '{table}|' || {} FROM \"{table}\" ORDER BY {order}",
                        quoted.join(" || '|' || ")
                    )
                }
                Dialect::Postgres => {
                    format!("SELECT '{table}|' || t::text FROM \"{table}\" t ORDER BY {order}")
                }
            };
            lines.extend(self.strings(&sql).await);
        }
        if self.dialect == Dialect::Postgres {
            lines.extend(
                self.strings(
                    "SELECT 'job_id_seq|' || last_value || '|' || is_called FROM job_id_seq",
                )
                .await,
            );
        }
        lines
    }
}

/// Meltano 4.4.1's SQLite schema at `c0efb3c314eb`, as its alembic migrations create it.
const REFERENCE_SQLITE_DDL: &[&str] = &[
    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, \
     CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))",
    "CREATE TABLE \"runs\" (id INTEGER NOT NULL, job_name VARCHAR, state VARCHAR(7), started_at DATETIME, \
     ended_at DATETIME, payload VARCHAR, payload_flags INTEGER, run_id CHAR(32), \"trigger\" VARCHAR, \
     last_heartbeat_at DATETIME, PRIMARY KEY (id))",
    "CREATE TABLE plugin_settings (label VARCHAR(255), description TEXT, name VARCHAR(255) NOT NULL, \
     namespace VARCHAR(255), value BLOB, enabled BOOLEAN, PRIMARY KEY (name, namespace))",
    "CREATE TABLE state (state_id VARCHAR(900) NOT NULL, partial_state VARCHAR, completed_state VARCHAR, \
     updated_at DATETIME, PRIMARY KEY (state_id), UNIQUE (state_id))",
];

/// Meltano 4.4.1's PostgreSQL schema at `c0efb3c314eb`, from `pg_dump --schema-only` of a database it migrated.
const REFERENCE_POSTGRES_DDL: &[&str] = &[
    "CREATE TABLE alembic_version (version_num character varying(32) NOT NULL)",
    "CREATE TABLE runs (id integer NOT NULL, job_name character varying, state character varying, \
     started_at timestamp without time zone, ended_at timestamp without time zone, payload character varying, \
     payload_flags integer, run_id uuid, trigger character varying, \
     last_heartbeat_at timestamp without time zone)",
    "CREATE SEQUENCE job_id_seq AS integer START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1",
    "ALTER SEQUENCE job_id_seq OWNED BY runs.id",
    "CREATE TABLE plugin_settings (label character varying(255), description text, \
     name character varying(255) NOT NULL, namespace character varying(255) NOT NULL, value bytea, \
     enabled boolean)",
    "CREATE TABLE state (state_id character varying(900) NOT NULL, partial_state character varying, \
     completed_state character varying, updated_at timestamp without time zone)",
    "ALTER TABLE ONLY runs ALTER COLUMN id SET DEFAULT nextval('job_id_seq'::regclass)",
    "ALTER TABLE ONLY alembic_version ADD CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)",
    "ALTER TABLE ONLY runs ADD CONSTRAINT job_pkey PRIMARY KEY (id)",
    "ALTER TABLE ONLY plugin_settings ADD CONSTRAINT plugin_settings_pkey PRIMARY KEY (name, namespace)",
    "ALTER TABLE ONLY state ADD CONSTRAINT state_pkey PRIMARY KEY (state_id)",
];

/// `pickle.dumps("hunter2", protocol=4)` and `pickle.dumps({"a": b"\x00\xff"}, protocol=4)`.
const PICKLE_HUNTER2: &str = "8004950b000000000000008c0768756e74657232942e";
const PICKLE_DICT: &str = "8004950d000000000000007d948c016194430200ff94732e";

const REFERENCE_SQLITE_ROWS: &[&str] = &[
    "INSERT INTO runs (id, job_name, state, started_at, ended_at, payload, payload_flags, run_id, \"trigger\", \
     last_heartbeat_at) VALUES (1, 'dev:tap-x-to-target-y', 'SUCCESS', '2025-01-02 03:04:05.123456', \
     '2025-01-02 03:05:06.000001', '{\"singer_state\": {\"bookmarks\": {\"s\": {\"id\": 42}}}}', 1, \
     '0f1e2d3c4b5a69788796a5b4c3d2e1f0', 'cli', '2025-01-02 03:05:00.500000')",
    "INSERT INTO runs (id, job_name, state, started_at, ended_at, payload, payload_flags, run_id, \"trigger\", \
     last_heartbeat_at) VALUES (2, 'dev:tap-x-to-target-y', 'RUNNING', '2025-01-03 00:00:00.000000', NULL, \
     '{}', 0, 'a1b2c3d4e5f60718293a4b5c6d7e8f90', NULL, NULL)",
    "INSERT INTO state (state_id, partial_state, completed_state, updated_at) VALUES ('dev:tap-x-to-target-y', \
     '{\"singer_state\": {}}', '{\"singer_state\": {\"bookmarks\": {\"s\": {\"id\": 42}}}}', \
     '2025-01-02 03:05:06.000001')",
    "INSERT INTO plugin_settings (label, description, name, namespace, value, enabled) VALUES \
     (NULL, NULL, 'password', 'extractors.tap-x.default', X'8004950b000000000000008c0768756e74657232942e', 1)",
    "INSERT INTO plugin_settings (label, description, name, namespace, value, enabled) VALUES \
     ('Opts', 'A dict', 'opts', 'loaders.target-y.default', X'8004950d000000000000007d948c016194430200ff94732e', 0)",
];

const REFERENCE_POSTGRES_ROWS: &[&str] = &[
    "INSERT INTO runs (job_name, state, started_at, ended_at, payload, payload_flags, run_id, trigger, \
     last_heartbeat_at) VALUES ('dev:tap-x-to-target-y', 'SUCCESS', '2025-01-02 03:04:05.123456', \
     '2025-01-02 03:05:06.000001', '{\"singer_state\": {\"bookmarks\": {\"s\": {\"id\": 42}}}}', 1, \
     '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', 'cli', '2025-01-02 03:05:00.5')",
    "INSERT INTO runs (job_name, state, started_at, ended_at, payload, payload_flags, run_id, trigger, \
     last_heartbeat_at) VALUES ('dev:tap-x-to-target-y', 'RUNNING', '2025-01-03 00:00:00', NULL, '{}', 0, \
     'a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90', NULL, NULL)",
    "INSERT INTO state (state_id, partial_state, completed_state, updated_at) VALUES ('dev:tap-x-to-target-y', \
     '{\"singer_state\": {}}', '{\"singer_state\": {\"bookmarks\": {\"s\": {\"id\": 42}}}}', \
     '2025-01-02 03:05:06.000001')",
    "INSERT INTO plugin_settings (label, description, name, namespace, value, enabled) VALUES \
     (NULL, NULL, 'password', 'extractors.tap-x.default', '\\x8004950b000000000000008c0768756e74657232942e', true)",
    "INSERT INTO plugin_settings (label, description, name, namespace, value, enabled) VALUES \
     ('Opts', 'A dict', 'opts', 'loaders.target-y.default', \
     '\\x8004950d000000000000007d948c016194430200ff94732e', false)",
];

/// Checks the pickles above are the ones the rows carry (keeps the hex in one reviewed place).
pub fn reference_pickles() -> [&'static str; 2] {
    [PICKLE_HUNTER2, PICKLE_DICT]
}
