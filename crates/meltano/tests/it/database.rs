//! Where commands find the system database, on SQLite and PostgreSQL.

use meltano_test::PgServer;
use sqlx::any::AnyPoolOptions;

use crate::common::TestDir;

async fn tables(uri: &str) -> Vec<String> {
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(uri)
        .await
        .unwrap();
    let sql = if uri.starts_with("sqlite") {
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
    } else {
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name"
    };
    let rows: Vec<(String,)> = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
    pool.close().await;
    rows.into_iter().map(|(n,)| n).collect()
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

const HEAD_TABLES: [&str; 4] = ["alembic_version", "plugin_settings", "runs", "state"];

#[test]
fn init_creates_the_schema_in_postgresql() {
    let server = PgServer::shared().expect("PostgreSQL for tests");
    server.create_database("init_pg").unwrap();
    let uri = server.uri("init_pg");
    let t = TestDir::new();
    let out = t.run(&["init", "proj", "--no-usage-stats", "--database-uri", &uri]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        block_on(tables(&uri.replacen("postgresql://", "postgres://", 1))),
        HEAD_TABLES
    );
    assert!(!t.path().join("proj/.meltano/meltano.db").exists());
}

#[test]
fn database_uri_in_meltano_yml_is_used() {
    let t = TestDir::new();
    let db = t.path().join("elsewhere/system.db");
    t.write(
        "meltano.yml",
        &format!("database_uri: sqlite:///{}\n", db.display()),
    );
    let out = t.run(&["remove", "nothing"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        block_on(tables(&format!("sqlite://{}", db.display()))),
        HEAD_TABLES
    );
    assert!(!t.path().join(".meltano/meltano.db").exists());
}

#[test]
fn a_database_made_by_meltano_4_4_1_is_used_in_place() {
    let t = TestDir::new();
    t.write(
        "meltano.yml",
        "plugins:\n  extractors:\n  - name: tap-x\n    namespace: tap_x\n",
    );
    let db = t.path().join(".meltano/meltano.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let uri = format!("sqlite://{}?mode=rwc", db.display());
    block_on(async {
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect(&uri)
            .await
            .unwrap();
        for statement in [
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))",
            "CREATE TABLE \"runs\" (id INTEGER NOT NULL, job_name VARCHAR, state VARCHAR(7), started_at DATETIME, ended_at DATETIME, payload VARCHAR, payload_flags INTEGER, run_id CHAR(32), \"trigger\" VARCHAR, last_heartbeat_at DATETIME, PRIMARY KEY (id))",
            "CREATE TABLE plugin_settings (label VARCHAR(255), description TEXT, name VARCHAR(255) NOT NULL, namespace VARCHAR(255), value BLOB, enabled BOOLEAN, PRIMARY KEY (name, namespace))",
            "CREATE TABLE state (state_id VARCHAR(900) NOT NULL, partial_state VARCHAR, completed_state VARCHAR, updated_at DATETIME, PRIMARY KEY (state_id), UNIQUE (state_id))",
            "INSERT INTO alembic_version VALUES ('c0efb3c314eb')",
            "INSERT INTO state VALUES ('dev:tap-x-to-target-y', '{}', '{\"singer_state\": {\"bookmarks\": {}}}', NULL)",
            "INSERT INTO plugin_settings VALUES (NULL, NULL, 'password', 'extractors.tap-x.default', X'8004950800', 1)",
            "INSERT INTO plugin_settings VALUES (NULL, NULL, 'password', 'extractors.tap-y.default', X'8004950800', 1)",
        ] {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        pool.close().await;
    });
    let out = t.run(&["remove", "tap-x"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    block_on(async {
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect(&uri)
            .await
            .unwrap();
        let state: Vec<(String, String)> =
            sqlx::query_as("SELECT state_id, completed_state FROM state")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(
            state,
            [(
                "dev:tap-x-to-target-y".to_string(),
                "{\"singer_state\": {\"bookmarks\": {}}}".to_string()
            )]
        );
        let settings: Vec<(String,)> = sqlx::query_as("SELECT namespace FROM plugin_settings")
            .fetch_all(&pool)
            .await
            .unwrap();
        assert_eq!(settings, [("extractors.tap-y.default".to_string(),)]);
        pool.close().await;
    });
}
