//! Plugin settings stored in the system database.

use meltano_db::SystemDb;

use crate::support::{Fixture, both_dialects};

async fn delete_plugin_settings_deletes_one_namespace(fixture: Fixture) {
    let db = SystemDb::open(&fixture.config()).await.unwrap();
    fixture.insert_reference_rows().await;
    fixture
        .exec(&["INSERT INTO plugin_settings (name, namespace) VALUES ('user', 'extractors.tap-x.default')"])
        .await;

    assert_eq!(
        db.delete_plugin_settings("extractors.tap-x.default")
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        db.delete_plugin_settings("extractors.tap-x.default")
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        db.delete_plugin_settings("extractors.tap-x").await.unwrap(),
        0
    );
    db.close().await;

    let left = fixture
        .strings("SELECT namespace || '.' || name FROM plugin_settings ORDER BY 1")
        .await;
    assert_eq!(left, ["loaders.target-y.default.opts"]);
}
both_dialects!(delete_plugin_settings_deletes_one_namespace);
