//! Resolution order: lock file > built-in index > Hub, and auto-lock.

use meltano_core::PluginType;
use meltano_hub::{
    DefinitionSource, Definitions, HubClient, HubConfig, PluginDefinition, ResolveError,
    builtin_index, lock_path, write_lock,
};

use crate::fake_hub::FakeHub;

fn hub_client(hub: &FakeHub, cache: &tempfile::TempDir) -> HubClient {
    let mut config = HubConfig::new(&hub.base, None);
    config.cache_dir = Some(cache.path().to_path_buf());
    HubClient::new(config).unwrap()
}

#[tokio::test]
async fn lock_file_wins_and_needs_no_network() {
    let project = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let hub = FakeHub::start().await;
    hub.serve_demo();
    let t = PluginType::Loaders;
    let mut pinned = builtin_index()
        .unwrap()
        .definition(t, "target-jsonl", None)
        .unwrap()
        .definition;
    pinned.pip_url = Some("target-jsonl==0.1.4".into());
    let path = lock_path(project.path(), t, "target-jsonl", Some("andyh1203"));
    write_lock(&path, &pinned).unwrap();

    let definitions = Definitions::with_hub(hub_client(&hub, &cache));
    let resolved = definitions
        .resolve(project.path(), t, "target-jsonl", Some("andyh1203"))
        .await
        .unwrap();
    assert_eq!(resolved.source, DefinitionSource::LockFile);
    assert_eq!(
        resolved.definition.pip_url.as_deref(),
        Some("target-jsonl==0.1.4")
    );
    assert_eq!(resolved.lock_path.as_deref(), Some(path.as_path()));
    assert_eq!(resolved.is_default_variant, None);

    // A lock file for a plugin no index knows is enough on its own.
    let mut custom = PluginDefinition::from_value(serde_json::json!({
        "plugin_type": "extractors", "name": "tap-private", "namespace": "tap_private",
        "variant": "inhouse", "pip_url": "tap-private"
    }))
    .unwrap();
    custom.executable = Some("tap-private".into());
    let custom_path = lock_path(
        project.path(),
        PluginType::Extractors,
        "tap-private",
        Some("inhouse"),
    );
    write_lock(&custom_path, &custom).unwrap();
    let resolved = definitions
        .resolve(
            project.path(),
            PluginType::Extractors,
            "tap-private",
            Some("inhouse"),
        )
        .await
        .unwrap();
    assert_eq!(resolved.definition.to_lock_json(), custom.to_lock_json());

    assert!(hub.requests().is_empty(), "{:?}", hub.paths());
}

#[tokio::test]
async fn builtin_index_comes_before_the_hub_and_is_auto_locked() {
    let project = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let hub = FakeHub::start().await;
    hub.serve_demo();
    let definitions = Definitions::with_hub(hub_client(&hub, &cache));
    let t = PluginType::Extractors;

    let resolved = definitions
        .resolve(project.path(), t, "tap-postgres", None)
        .await
        .unwrap();
    assert_eq!(resolved.source, DefinitionSource::Builtin);
    assert_eq!(resolved.is_default_variant, Some(true));
    assert_eq!(resolved.definition.variant.as_deref(), Some("meltanolabs"));
    let written = project
        .path()
        .join("plugins/extractors/tap-postgres--meltanolabs.lock");
    assert_eq!(resolved.lock_path.as_deref(), Some(written.as_path()));
    assert_eq!(
        std::fs::read_to_string(&written).unwrap(),
        resolved.definition.to_lock_json()
    );
    assert!(hub.requests().is_empty());

    // The next lookup reads the lock file, with or without the variant spelled out.
    for variant in [Some("meltanolabs"), None, Some("default")] {
        let again = definitions
            .resolve(project.path(), t, "tap-postgres", variant)
            .await
            .unwrap();
        assert_eq!(again.source, DefinitionSource::LockFile, "{variant:?}");
        assert_eq!(again.definition, resolved.definition);
    }
    assert!(hub.requests().is_empty());
}

#[tokio::test]
async fn hub_is_last_and_its_definition_is_auto_locked() {
    let project = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let hub = FakeHub::start().await;
    hub.serve_demo();
    let definitions = Definitions::with_hub(hub_client(&hub, &cache));
    let t = PluginType::Extractors;

    let resolved = definitions
        .resolve(project.path(), t, "tap-demo", None)
        .await
        .unwrap();
    assert_eq!(resolved.source, DefinitionSource::Hub);
    assert_eq!(resolved.is_default_variant, Some(true));
    let written = project
        .path()
        .join("plugins/extractors/tap-demo--acme.lock");
    assert_eq!(resolved.lock_path.as_deref(), Some(written.as_path()));
    assert_eq!(
        std::fs::read_to_string(&written).unwrap(),
        include_str!("fixtures/tap-demo--acme.lock")
    );
    assert_eq!(hub.paths().len(), 2);

    // Locked now: the Hub is not asked again.
    let again = definitions
        .resolve(project.path(), t, "tap-demo", Some("acme"))
        .await
        .unwrap();
    assert_eq!(again.source, DefinitionSource::LockFile);
    assert_eq!(hub.paths().len(), 2);

    // A variant the built-in index lacks is looked up on the Hub.
    let hub_only = Definitions {
        builtin: false,
        ..definitions.clone()
    };
    let other = hub_only
        .resolve(project.path(), t, "tap-demo", Some("other"))
        .await
        .unwrap();
    assert_eq!(other.source, DefinitionSource::Hub);
    assert!(
        project
            .path()
            .join("plugins/extractors/tap-demo--other.lock")
            .exists()
    );
}

#[tokio::test]
async fn fetch_ignores_lock_files() {
    let project = tempfile::tempdir().unwrap();
    let definitions = Definitions::offline();
    let t = PluginType::Loaders;
    let resolved = definitions
        .resolve(project.path(), t, "target-sqlite", None)
        .await
        .unwrap();
    let mut edited = resolved.definition.clone();
    edited.pip_url = Some("target-sqlite==0.2.0".into());
    write_lock(resolved.lock_path.as_deref().unwrap(), &edited).unwrap();

    let (found, source) = definitions.fetch(t, "target-sqlite", None).await.unwrap();
    assert_eq!(source, DefinitionSource::Builtin);
    assert_eq!(found.definition.pip_url.as_deref(), Some("target-sqlite"));
}

#[tokio::test]
async fn auto_lock_can_be_turned_off() {
    let project = tempfile::tempdir().unwrap();
    let definitions = Definitions {
        auto_lock: false,
        ..Definitions::offline()
    };
    let resolved = definitions
        .resolve(project.path(), PluginType::Utilities, "sqlfluff", None)
        .await
        .unwrap();
    assert_eq!(resolved.lock_path, None);
    assert!(!project.path().join("plugins").exists());
}

#[tokio::test]
async fn errors() {
    let project = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let offline = Definitions::offline();
    let mut messages = Vec::new();

    let e = offline
        .resolve(project.path(), PluginType::Extractors, "tap-nope", None)
        .await
        .unwrap_err();
    assert!(matches!(e, ResolveError::Unknown(_)));
    messages.push(e.to_string());
    let e = offline
        .resolve(
            project.path(),
            PluginType::Loaders,
            "target-postgres",
            Some("nope"),
        )
        .await
        .unwrap_err();
    messages.push(e.to_string());

    // Unknown on the Hub too: the Hub's answer is the one reported.
    let hub = FakeHub::start().await;
    hub.serve_demo();
    let online = Definitions::with_hub(hub_client(&hub, &cache));
    let e = online
        .resolve(
            project.path(),
            PluginType::Extractors,
            "tap-demo",
            Some("zz"),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ResolveError::Unknown(_)));
    messages.push(e.to_string());

    // A broken lock file is reported, never bypassed.
    let broken = lock_path(
        project.path(),
        PluginType::Extractors,
        "tap-postgres",
        Some("meltanolabs"),
    );
    std::fs::create_dir_all(broken.parent().unwrap()).unwrap();
    std::fs::write(&broken, "{").unwrap();
    let e = online
        .resolve(
            project.path(),
            PluginType::Extractors,
            "tap-postgres",
            Some("meltanolabs"),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ResolveError::Lock(_)));
    messages.push(e.to_string());

    insta::assert_snapshot!(crate::scrub(project.path(), &messages.join("\n")));
}
