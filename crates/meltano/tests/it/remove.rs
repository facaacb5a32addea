//! `meltano remove`: settings rows, meltano.yml entries, installations and lock files.

use meltano_test::PgServer;
use sqlx::any::AnyPoolOptions;

use crate::common::TestDir;
use crate::snapshot;

const PROJECT: &str = "\
plugins:
  extractors:
  - name: tap-x   # keep this comment
    namespace: tap_x
  - name: tap-x-other
    inherit_from: tap-x
  loaders:
  - name: target-y
    namespace: target_y
";

/// Inserts a `plugin_settings` row for `namespace` through sqlx, as Meltano would have stored it.
async fn insert_setting(uri: &str, namespace: &str) {
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(uri)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO plugin_settings (name, namespace, value, enabled) VALUES ($1, $2, $3, $4)",
    )
    .bind("password")
    .bind(namespace)
    .bind(b"\x80\x04\x95\x08\x00\x00\x00\x00\x00\x00\x00\x8c\x04s3cr\x94.".to_vec())
    .bind(true)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
}

async fn count_settings(uri: &str) -> Vec<String> {
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(uri)
        .await
        .unwrap();
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT namespace FROM plugin_settings ORDER BY namespace")
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    rows.into_iter().map(|(n,)| n).collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn remove_clears_every_location() {
    let t = TestDir::new();
    t.write("meltano.yml", PROJECT);
    // First run creates the database.
    assert_eq!(t.run(&["remove", "nothing"]).status.code(), Some(0));
    let db = format!(
        "sqlite://{}",
        t.path().join(".meltano/meltano.db").display()
    );
    runtime().block_on(async {
        insert_setting(&db, "extractors.tap-x.default").await;
        insert_setting(&db, "extractors.tap-x-other.default").await;
    });
    t.write(".meltano/extractors/tap-x/venv/bin/tap-x", "#!/bin/sh\n");
    t.write("plugins/extractors/tap-x--meltanolabs.lock", "{}\n");
    t.write("plugins/extractors/tap-x-other--meltanolabs.lock", "{}\n");

    snapshot!("remove_everywhere", t.run(&["remove", "tap-x"]), t.path());
    assert_eq!(
        t.read("meltano.yml"),
        "plugins:\n  extractors:\n  - name: tap-x-other\n    inherit_from: tap-x\n  loaders:\n  - name: target-y\n    namespace: target_y\n"
    );
    assert!(!t.path().join(".meltano/extractors/tap-x").exists());
    assert!(
        !t.path()
            .join("plugins/extractors/tap-x--meltanolabs.lock")
            .exists()
    );
    // Only this plugin's lock files go (Meltano 4.4.1 also deleted tap-x-other's: a prefix glob).
    assert!(
        t.path()
            .join("plugins/extractors/tap-x-other--meltanolabs.lock")
            .exists()
    );
    assert_eq!(
        runtime().block_on(count_settings(&db)),
        ["extractors.tap-x-other.default"]
    );
}

#[test]
fn remove_reports_what_was_not_found() {
    let t = TestDir::new();
    t.write("meltano.yml", PROJECT);
    snapshot!(
        "remove_several",
        t.run(&["remove", "target-y", "nope"]),
        t.path()
    );
    assert!(!t.read("meltano.yml").contains("loaders"));
}

#[test]
fn remove_uses_the_database_uri_option() {
    let server = PgServer::shared().expect("PostgreSQL for tests");
    let name = "remove_option";
    server.create_database(name).unwrap();
    let uri = server.uri(name);
    let t = TestDir::new();
    t.write("meltano.yml", PROJECT);
    let first = t.run(&["remove", "nothing", "--database-uri", &uri]);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let sqlx_uri = uri.replacen("postgresql://", "postgres://", 1);
    runtime().block_on(insert_setting(&sqlx_uri, "loaders.target-y.default"));
    let out = t.run(&["remove", "target-y", "--database-uri", &uri]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(runtime().block_on(count_settings(&sqlx_uri)).is_empty());
    assert!(
        !t.path().join(".meltano/meltano.db").exists(),
        "the SQLite default must not be touched"
    );

    let by_env = t
        .meltano(&["remove", "nothing"])
        .env("MELTANO_DATABASE_URI", &uri)
        .output()
        .unwrap();
    assert_eq!(by_env.status.code(), Some(0));
    assert!(!t.path().join(".meltano/meltano.db").exists());
}

#[test]
fn unreachable_database_is_retried_then_reported() {
    let t = TestDir::new();
    t.write(
        "meltano.yml",
        "database_max_retries: 1\ndatabase_retry_timeout: 0\n",
    );
    let out = t.run(&[
        "remove",
        "x",
        "--database-uri",
        "postgresql://me:hunter2@127.0.0.1:9/nowhere",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("DB connection failed. Will retry after 0s. Attempt 1/1"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
}
