//! meltano-state against moto (started on 127.0.0.1 by `meltano_test::S3Server`): the upgrade of
//! Meltano's doubled-prefix layout. A machine where moto cannot be installed says SKIPPED.

use std::time::Duration;

use meltano_core::state::StateRecord;
use meltano_state::{BackendConfig, ObjectStateStore, S3Settings, StateStore};
use serde_json::json;

fn store(server: &meltano_test::S3Server, uri: &str) -> ObjectStateStore {
    ObjectStateStore::new(&BackendConfig {
        uri: uri.to_string(),
        lock_timeout: Duration::from_secs(10),
        lock_retry: Duration::from_millis(100),
        s3: S3Settings {
            aws_access_key_id: Some("testing".into()),
            aws_secret_access_key: Some("testing".into()),
            endpoint_url: Some(server.endpoint()),
        },
        ..BackendConfig::default()
    })
    .expect("store")
}

#[tokio::test]
#[allow(clippy::print_stderr)] // a skipped test must say so in the test output
async fn states_under_a_doubled_prefix_are_copied_where_meltano_reads_them() {
    let server = match meltano_test::S3Server::start() {
        Ok(server) => server,
        Err(e) => {
            eprintln!("SKIPPED: the S3 emulator (moto) is not available: {e}");
            return;
        }
    };
    server.create_bucket("legacy-layout").unwrap();
    let record = |n: i64| StateRecord {
        completed: json!({"singer_state": {"n": n}}),
        partial: json!({}),
    };
    // What an old Meltano wrote, under `state/state/`.
    let old = store(&server, "s3://legacy-layout/state/state");
    old.put("dev:a-to-b", &record(1)).await.unwrap();
    old.put("dev:c-to-d", &record(2)).await.unwrap();
    let current = store(&server, "s3://legacy-layout/state");
    // A state already at its place is newer: it stays.
    current.put("dev:c-to-d", &record(3)).await.unwrap();
    let copied = current.migrate_layout().await.unwrap();
    assert_eq!(copied, vec!["dev:a-to-b".to_string()]);
    assert_eq!(current.get("dev:a-to-b").await.unwrap(), Some(record(1)));
    assert_eq!(current.get("dev:c-to-d").await.unwrap(), Some(record(3)));
    assert_eq!(
        server
            .get_object("legacy-layout", "state/dev:a-to-b/state.json")
            .unwrap()
            .as_deref(),
        Some(r#"{"completed": {"singer_state": {"n": 1}}, "partial": {}}"#)
    );
    // Run again: nothing left to do.
    assert!(current.migrate_layout().await.unwrap().is_empty());
}
