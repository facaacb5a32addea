//! Singer state in the `state` table, and the `runs` rows of CLI edits, checked with raw SQL.

use meltano_core::state::{PayloadKind, StateRecord};
use meltano_db::{Dialect, SystemDb};
use serde_json::{Value, json};

use crate::support::{Fixture, both_dialects};

/// `state_id|completed_state|partial_state|updated_at is null` for every row, by state ID.
async fn state_rows(fixture: &Fixture) -> Vec<String> {
    fixture
        .strings(
            "SELECT state_id || '|' || COALESCE(completed_state, 'NULL') || '|' || \
             COALESCE(partial_state, 'NULL') || '|' || \
             CASE WHEN updated_at IS NULL THEN 'new' ELSE 'updated' END FROM state ORDER BY state_id",
        )
        .await
}

async fn writes_follow_meltano_semantics(fixture: Fixture) {
    let db = SystemDb::open(&fixture.config()).await.unwrap();
    assert_eq!(db.read_state("s").await.unwrap(), None);

    db.write_state(
        "s",
        &json!({"singer_state": {"bookmarks": {"a": {"x": 1}}}}),
        PayloadKind::Complete,
    )
    .await
    .unwrap();
    assert_eq!(
        state_rows(&fixture).await,
        [r#"s|{"singer_state": {"bookmarks": {"a": {"x": 1}}}}|{}|new"#]
    );

    db.write_state(
        "s",
        &json!({"singer_state": {"bookmarks": {"b": {"y": 2}}}}),
        PayloadKind::Partial,
    )
    .await
    .unwrap();
    db.write_state(
        "s",
        &json!({"singer_state": {"bookmarks": {"b": {"z": "é"}}}}),
        PayloadKind::Partial,
    )
    .await
    .unwrap();
    assert_eq!(
        state_rows(&fixture).await,
        [
            r#"s|{"singer_state": {"bookmarks": {"a": {"x": 1}}}}|{"singer_state": {"bookmarks": {"b": {"y": 2, "z": "\u00e9"}}}}|updated"#
        ]
    );
    let record = db.read_state("s").await.unwrap().unwrap();
    assert_eq!(
        record.merged(),
        json!({"singer_state": {"bookmarks": {"a": {"x": 1}, "b": {"y": 2, "z": "é"}}}})
    );

    // A complete payload replaces everything.
    db.write_state("s", &json!({"singer_state": {}}), PayloadKind::Complete)
        .await
        .unwrap();
    assert_eq!(
        state_rows(&fixture).await,
        [r#"s|{"singer_state": {}}|{}|updated"#]
    );

    // A partial payload for a new ID creates it with an empty completed state.
    db.write_state(
        "p",
        &json!({"singer_state": {"k": 1}}),
        PayloadKind::Partial,
    )
    .await
    .unwrap();
    assert_eq!(
        state_rows(&fixture).await[0],
        r#"p|{}|{"singer_state": {"k": 1}}|new"#
    );
    db.close().await;
}
both_dialects!(writes_follow_meltano_semantics);

async fn updated_at_is_local_naive_time(fixture: Fixture) {
    let db = SystemDb::open(&fixture.config()).await.unwrap();
    db.write_state("s", &json!({"singer_state": {}}), PayloadKind::Complete)
        .await
        .unwrap();
    db.write_state("s", &json!({"singer_state": {}}), PayloadKind::Complete)
        .await
        .unwrap();
    db.close().await;
    let sql = match fixture.dialect {
        Dialect::Sqlite => "SELECT CAST(updated_at AS TEXT) FROM state",
        Dialect::Postgres => "SELECT to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS.US') FROM state",
    };
    let stamp = fixture.strings(sql).await.remove(0);
    let parsed = chrono::NaiveDateTime::parse_from_str(&stamp, "%Y-%m-%d %H:%M:%S%.6f")
        .unwrap_or_else(|e| panic!("{stamp}: {e}"));
    assert_eq!(stamp.len(), "2025-01-02 03:04:05.123456".len());
    let age = chrono::Local::now().naive_local() - parsed;
    assert!(
        age.num_seconds().abs() < 60,
        "{stamp} is not the local time"
    );
}
both_dialects!(updated_at_is_local_naive_time);

async fn state_ids_match_like_patterns(fixture: Fixture) {
    let db = SystemDb::open(&fixture.config()).await.unwrap();
    for id in [
        "dev:tap-b-to-target",
        "dev:tap-a-to-target",
        "prod:tap-a-to-target",
        "x_y",
        "xzy",
    ] {
        db.write_state(id, &json!({"singer_state": {}}), PayloadKind::Complete)
            .await
            .unwrap();
    }
    let all = db.state_ids(None).await.unwrap();
    let expected: &[&str] = match fixture.dialect {
        // Creation order, as Meltano lists them on SQLite.
        Dialect::Sqlite => &[
            "dev:tap-b-to-target",
            "dev:tap-a-to-target",
            "prod:tap-a-to-target",
            "x_y",
            "xzy",
        ],
        Dialect::Postgres => &[
            "dev:tap-a-to-target",
            "dev:tap-b-to-target",
            "prod:tap-a-to-target",
            "x_y",
            "xzy",
        ],
    };
    assert_eq!(all, expected);
    let mut dev = db.state_ids(Some("dev:*")).await.unwrap();
    dev.sort();
    assert_eq!(dev, ["dev:tap-a-to-target", "dev:tap-b-to-target"]);
    assert_eq!(db.state_ids(Some("*:tap-a-*")).await.unwrap().len(), 2);
    // `_` keeps its LIKE meaning, as in Meltano.
    let mut underscore = db.state_ids(Some("x_y")).await.unwrap();
    underscore.sort();
    assert_eq!(underscore, ["x_y", "xzy"]);
    assert!(db.state_ids(Some("nothing*")).await.unwrap().is_empty());
    db.close().await;
}
both_dialects!(state_ids_match_like_patterns);

async fn rewriting_keeps_the_position(fixture: Fixture) {
    let db = SystemDb::open(&fixture.config()).await.unwrap();
    for id in ["b", "a", "c"] {
        db.write_state(id, &json!({"singer_state": {}}), PayloadKind::Complete)
            .await
            .unwrap();
    }
    db.write_state(
        "b",
        &json!({"singer_state": {"n": 1}}),
        PayloadKind::Complete,
    )
    .await
    .unwrap();
    let ids: Vec<String> = db
        .all_states()
        .await
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    match fixture.dialect {
        Dialect::Sqlite => assert_eq!(ids, ["b", "a", "c"]),
        Dialect::Postgres => assert_eq!(ids, ["a", "b", "c"]),
    }
    db.close().await;
}
both_dialects!(rewriting_keeps_the_position);

async fn import_stores_records_verbatim(fixture: Fixture) {
    let db = SystemDb::open(&fixture.config()).await.unwrap();
    db.write_state(
        "a",
        &json!({"singer_state": {"old": 1}}),
        PayloadKind::Partial,
    )
    .await
    .unwrap();
    let records = vec![
        (
            "a".to_string(),
            StateRecord {
                completed: json!({"singer_state": {"n": 1}}),
                partial: Value::Null,
            },
        ),
        (
            "b".to_string(),
            StateRecord {
                completed: json!([1]),
                partial: json!({"q": 2}),
            },
        ),
    ];
    assert_eq!(db.put_states(&records).await.unwrap(), 2);
    assert_eq!(db.put_states(&[]).await.unwrap(), 0);
    db.put_state(
        "c",
        &StateRecord {
            completed: Value::Null,
            partial: Value::Null,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        state_rows(&fixture).await,
        [
            r#"a|{"singer_state": {"n": 1}}|NULL|new"#,
            r#"b|[1]|{"q": 2}|new"#,
            "c|NULL|NULL|new",
        ]
    );
    let exported = db.all_states().await.unwrap();
    assert_eq!(exported[0], records[0]);
    assert_eq!(exported[1], records[1]);
    assert_eq!(
        db.read_state("c").await.unwrap().unwrap().merged(),
        Value::Null
    );
    db.close().await;
}
both_dialects!(import_stores_records_verbatim);

async fn clearing_deletes_rows(fixture: Fixture) {
    let db = SystemDb::open(&fixture.config()).await.unwrap();
    for id in ["a", "b", "c"] {
        db.write_state(id, &json!({"singer_state": {}}), PayloadKind::Complete)
            .await
            .unwrap();
    }
    assert!(db.delete_state("a").await.unwrap());
    assert!(!db.delete_state("a").await.unwrap());
    assert_eq!(db.state_ids(None).await.unwrap().len(), 2);
    assert_eq!(db.delete_all_states().await.unwrap(), 2);
    assert_eq!(db.delete_all_states().await.unwrap(), 0);
    db.close().await;
    assert!(state_rows(&fixture).await.is_empty());
}
both_dialects!(clearing_deletes_rows);

async fn state_edits_are_recorded_in_runs(fixture: Fixture) {
    let db = SystemDb::open(&fixture.config()).await.unwrap();
    db.record_state_edit(
        "dev:tap-to-target",
        &json!({"singer_state": {"a": [1, 2.5]}}),
        PayloadKind::Complete,
        Some("cli"),
    )
    .await
    .unwrap();
    db.record_state_edit(
        "s",
        &json!({"singer_state": {}}),
        PayloadKind::Partial,
        None,
    )
    .await
    .unwrap();
    db.record_state_edit("s", &Value::Null, PayloadKind::Complete, Some("schedule"))
        .await
        .unwrap();
    db.close().await;

    let rows = fixture
        .strings(
            "SELECT job_name || '|' || state || '|' || COALESCE(payload, 'NULL') || '|' || \
             payload_flags || '|' || COALESCE(\"trigger\", 'NULL') || '|' || \
             CASE WHEN started_at = ended_at THEN 'same' ELSE 'differ' END || '|' || \
             CASE WHEN last_heartbeat_at IS NULL THEN 'no heartbeat' ELSE 'heartbeat' END \
             FROM runs ORDER BY id",
        )
        .await;
    assert_eq!(
        rows,
        [
            r#"dev:tap-to-target|STATE_EDIT|{"singer_state": {"a": [1, 2.5]}}|1|cli|same|no heartbeat"#,
            r#"s|STATE_EDIT|{"singer_state": {}}|2|NULL|same|no heartbeat"#,
            "s|STATE_EDIT|NULL|1|schedule|same|no heartbeat",
        ]
    );
    let (run_id_sql, started_sql) = match fixture.dialect {
        Dialect::Sqlite => (
            "SELECT run_id FROM runs ORDER BY id",
            "SELECT CAST(started_at AS TEXT) FROM runs ORDER BY id",
        ),
        Dialect::Postgres => (
            "SELECT run_id::text FROM runs ORDER BY id",
            "SELECT to_char(started_at, 'YYYY-MM-DD HH24:MI:SS.US') FROM runs ORDER BY id",
        ),
    };
    let run_ids = fixture.strings(run_id_sql).await;
    for run_id in &run_ids {
        let hex: String = run_id.chars().filter(|c| *c != '-').collect();
        assert_eq!(hex.len(), 32, "{run_id}");
        assert_eq!(&hex[12..13], "7", "UUIDv7 expected: {run_id}");
        match fixture.dialect {
            Dialect::Sqlite => assert!(!run_id.contains('-'), "{run_id}"),
            Dialect::Postgres => assert_eq!(run_id.len(), 36),
        }
    }
    assert_ne!(run_ids[0], run_ids[1]);
    let started = fixture.strings(started_sql).await.remove(0);
    let started = chrono::NaiveDateTime::parse_from_str(&started, "%Y-%m-%d %H:%M:%S%.6f")
        .unwrap_or_else(|e| panic!("{started}: {e}"));
    let age = chrono::Utc::now().naive_utc() - started;
    assert!(age.num_seconds().abs() < 60, "{started} is not UTC now");
}
both_dialects!(state_edits_are_recorded_in_runs);

async fn meltano_state_rows_are_read(fixture: Fixture) {
    fixture
        .create_reference_schema(meltano_db::HEAD_REVISION)
        .await;
    fixture.insert_reference_rows().await;
    let db = SystemDb::open(&fixture.config()).await.unwrap();
    let record = db
        .read_state("dev:tap-x-to-target-y")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        record,
        StateRecord {
            completed: json!({"singer_state": {"bookmarks": {"s": {"id": 42}}}}),
            partial: json!({"singer_state": {}}),
        }
    );
    assert_eq!(
        record.merged(),
        json!({"singer_state": {"bookmarks": {"s": {"id": 42}}}})
    );
    // A partial payload over Meltano's row keeps its completed state and stamps updated_at.
    db.write_state(
        "dev:tap-x-to-target-y",
        &json!({"singer_state": {"bookmarks": {"t": {"id": 1}}}}),
        PayloadKind::Partial,
    )
    .await
    .unwrap();
    db.close().await;
    assert_eq!(
        state_rows(&fixture).await,
        [
            r#"dev:tap-x-to-target-y|{"singer_state": {"bookmarks": {"s": {"id": 42}}}}|{"singer_state": {"bookmarks": {"t": {"id": 1}}}}|updated"#
        ]
    );
}
both_dialects!(meltano_state_rows_are_read);

/// Writers of one state ID in separate processes' worth of pools never lose a payload.
async fn concurrent_partial_writes_are_all_kept(fixture: Fixture) {
    let first = SystemDb::open(&fixture.config()).await.unwrap();
    let second = SystemDb::open(&fixture.config()).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..24 {
        let db = if i % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        tasks.push(tokio::spawn(async move {
            let payload = json!({"singer_state": {"bookmarks": {format!("s{i}"): i}}});
            db.write_state("shared", &payload, PayloadKind::Partial)
                .await
                .map_err(|e| e.to_string())
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let record = first.read_state("shared").await.unwrap().unwrap();
    let bookmarks = record.partial["singer_state"]["bookmarks"]
        .as_object()
        .unwrap()
        .clone();
    assert_eq!(bookmarks.len(), 24, "{bookmarks:?}");
    first.close().await;
    second.close().await;
    assert_eq!(
        fixture.strings("SELECT state_id FROM state").await,
        ["shared"]
    );
}
both_dialects!(concurrent_partial_writes_are_all_kept);
