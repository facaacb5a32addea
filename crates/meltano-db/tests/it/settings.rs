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

async fn settings_are_stored_read_and_unset(fixture: Fixture) {
    let db = SystemDb::open(&fixture.config()).await.unwrap();
    let pickled = b"\x80\x05\x95\x07\x00\x00\x00\x00\x00\x00\x00\x8c\x03bob\x94.";
    db.set_plugin_setting("extractors.tap-x.default", "username", pickled)
        .await
        .unwrap();
    db.set_plugin_setting("extractors.tap-x.default", "port", b"\x80\x05K\x05.")
        .await
        .unwrap();
    db.set_plugin_setting("meltano", "hub_url", b"x")
        .await
        .unwrap();
    // Setting again replaces the value.
    db.set_plugin_setting("extractors.tap-x.default", "port", b"\x80\x05K\x06.")
        .await
        .unwrap();
    assert_eq!(
        db.plugin_settings("extractors.tap-x.default")
            .await
            .unwrap(),
        [
            ("port".to_string(), b"\x80\x05K\x06.".to_vec()),
            ("username".to_string(), pickled.to_vec())
        ]
    );
    assert!(
        db.unset_plugin_setting("extractors.tap-x.default", "port")
            .await
            .unwrap()
    );
    assert!(
        !db.unset_plugin_setting("extractors.tap-x.default", "port")
            .await
            .unwrap()
    );
    assert_eq!(
        db.plugin_settings("extractors.tap-x.default")
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        db.plugin_settings("meltano").await.unwrap(),
        [("hub_url".to_string(), b"x".to_vec())]
    );
    db.close().await;
}
both_dialects!(settings_are_stored_read_and_unset);
