//! Reads of the `runs` table that commands other than `run` need.

use chrono::NaiveDateTime;
use meltano_db::{RunState, SystemDb};

use crate::support::{Fixture, both_dialects};

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").unwrap()
}

async fn last_success_is_the_latest_ended_success_of_that_job(fixture: Fixture) {
    let db = SystemDb::open(&fixture.config()).await.unwrap();
    assert_eq!(db.last_success_ended_at("daily").await.unwrap(), None);
    let run = |job: &'static str, state: RunState, ended: &'static str| {
        let db = &db;
        async move {
            let id = db
                .start_run(job, &uuid::Uuid::now_v7(), "cli", at("2026-01-01 00:00:00"))
                .await
                .unwrap();
            db.finish_run(id, state, None, at(ended)).await.unwrap();
        }
    };
    run("daily", RunState::Success, "2026-01-02 03:04:05.123456").await;
    run("daily", RunState::Success, "2026-01-01 03:04:05").await;
    run("daily", RunState::Fail, "2026-01-09 00:00:00").await;
    run("other", RunState::Success, "2026-01-10 00:00:00").await;
    // Still running: no end yet.
    db.start_run(
        "daily",
        &uuid::Uuid::now_v7(),
        "cli",
        at("2026-01-11 00:00:00"),
    )
    .await
    .unwrap();
    assert_eq!(
        db.last_success_ended_at("daily").await.unwrap(),
        Some(at("2026-01-02 03:04:05.123456"))
    );
    assert_eq!(db.last_success_ended_at("nope").await.unwrap(), None);
    db.close().await;
}
both_dialects!(last_success_is_the_latest_ended_success_of_that_job);
