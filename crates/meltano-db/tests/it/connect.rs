//! Reaching the database: URIs as Meltano users write them, and retries.

use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

use meltano_db::{DbConfig, DbError, Dialect, HEAD_REVISION, RetryAttempt, SystemDb};
use meltano_test::PgServer;

use crate::support::Fixture;

#[tokio::test]
async fn closed_port_fails_after_max_retries_with_redacted_uri() {
    let port = {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = DbConfig {
        uri: format!("postgresql+psycopg://meltano:s3cr3t-pw@127.0.0.1:{port}/meltano"),
        max_retries: 2,
        retry_timeout: Duration::from_millis(50),
    };
    let mut retries: Vec<RetryAttempt> = Vec::new();
    let started = Instant::now();
    let err = SystemDb::open_with(&config, |attempt| retries.push(attempt))
        .await
        .unwrap_err();

    assert!(started.elapsed() >= Duration::from_millis(100));
    let messages: Vec<String> = retries.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "DB connection failed. Will retry after 0.05s. Attempt 1/2",
            "DB connection failed. Will retry after 0.05s. Attempt 2/2"
        ]
    );
    assert!(
        matches!(err, DbError::Connect { retries: 2, .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&format!(
            "postgresql+psycopg://meltano:********@127.0.0.1:{port}/meltano"
        )),
        "{message}"
    );
    assert!(!message.contains("s3cr3t"), "{message}");
}

#[tokio::test]
async fn zero_retries_fails_at_once() {
    let port = {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = DbConfig {
        uri: format!("postgresql://u@127.0.0.1:{port}/db"),
        max_retries: 0,
        retry_timeout: Duration::from_secs(60),
    };
    let mut calls = 0;
    let err = SystemDb::open_with(&config, |_| calls += 1)
        .await
        .unwrap_err();
    assert_eq!(calls, 0);
    assert!(
        matches!(err, DbError::Connect { retries: 0, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn sqlite_path_with_spaces_and_missing_parents() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir
        .path()
        .join("my project")
        .join(".meltano dir")
        .join("meltano.db");
    let fixture = Fixture::sqlite_at(path.clone(), dir);
    assert!(fixture.uri.starts_with("sqlite:////"), "{}", fixture.uri);
    let db = SystemDb::open(&fixture.config()).await.unwrap();
    assert_eq!(db.dialect(), Dialect::Sqlite);
    assert_eq!(db.revision().await.unwrap().as_deref(), Some(HEAD_REVISION));
    db.close().await;
    assert!(path.is_file());
    assert_eq!(fixture.strings("PRAGMA journal_mode").await, ["wal"]);
}

#[tokio::test]
async fn sqlite_in_memory_lives_as_long_as_the_handle() {
    for uri in ["sqlite://", "sqlite:///:memory:"] {
        let db = SystemDb::open(&DbConfig::new(uri)).await.unwrap();
        assert_eq!(
            db.revision().await.unwrap().as_deref(),
            Some(HEAD_REVISION),
            "{uri}"
        );
        assert_eq!(
            db.delete_plugin_settings("extractors.tap-x.default")
                .await
                .unwrap(),
            0
        );
        db.close().await;
    }
}

#[tokio::test]
async fn unsupported_scheme_is_refused_before_connecting() {
    let err = SystemDb::open(&DbConfig::new("mysql+pymysql://u:pw@localhost/meltano"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DbError::UnsupportedScheme { scheme } if scheme == "mysql+pymysql"),
        "{err:?}"
    );
    assert!(err.to_string().contains("postgresql://"), "{err}");
}

#[tokio::test]
async fn postgres_options_search_path_is_honoured() {
    let server = PgServer::shared().unwrap();
    let db_name = server.fresh_database("search_path").unwrap();
    server.psql(&db_name, "CREATE SCHEMA myschema").unwrap();
    let uri = format!(
        "{}?sslmode=disable&options=-csearch_path%3Dmyschema",
        server.uri(&db_name)
    );
    let db = SystemDb::open(&DbConfig::new(uri)).await.unwrap();
    assert_eq!(db.dialect(), Dialect::Postgres);
    assert_eq!(db.revision().await.unwrap().as_deref(), Some(HEAD_REVISION));
    db.close().await;
    let tables = server
        .psql(&db_name, "SELECT string_agg(schemaname || '.' || tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname IN ('public', 'myschema')")
        .unwrap();
    assert_eq!(
        tables.trim(),
        "myschema.alembic_version,myschema.plugin_settings,myschema.runs,myschema.state"
    );
}
