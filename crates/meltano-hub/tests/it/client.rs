//! The Hub client against a local fake Hub.

use std::time::{Duration, SystemTime};

use meltano_core::PluginType;
use meltano_hub::cache::cache_path;
use meltano_hub::{CacheMode, HubClient, HubConfig, HubError, VariantSource};

use crate::fake_hub::FakeHub;

const INDEX: &str = "/meltano/api/v1/plugins/extractors/index";

fn config(hub: &FakeHub, cache: &tempfile::TempDir) -> HubConfig {
    let mut config = HubConfig::new(&hub.base, None);
    config.cache_dir = Some(cache.path().to_path_buf());
    config.command = Some("meltano add".into());
    config
}

fn client(hub: &FakeHub, cache: &tempfile::TempDir) -> HubClient {
    HubClient::new(config(hub, cache)).unwrap()
}

#[test]
fn api_root_from_settings() {
    assert_eq!(
        HubConfig::new("https://hub.meltano.com", None).api_root,
        "https://hub.meltano.com/meltano/api/v1"
    );
    assert_eq!(
        HubConfig::new("https://hub.meltano.com", Some("https://x.test/api")).api_root,
        "https://x.test/api"
    );
    assert_eq!(
        HubConfig::new("https://h.test", Some("")).api_root,
        "https://h.test/meltano/api/v1"
    );
}

#[tokio::test]
async fn index_lists_plugins_with_their_variant_refs() {
    let hub = FakeHub::start().await;
    hub.serve_demo();
    let cache = tempfile::tempdir().unwrap();
    let index = client(&hub, &cache)
        .index(PluginType::Extractors, CacheMode::Refresh)
        .await
        .unwrap();
    assert_eq!(index.len(), 1);
    let entry = &index[0];
    assert_eq!(entry.name, "tap-demo");
    assert_eq!(entry.default_variant, "acme");
    assert_eq!(
        entry.logo_url.as_deref(),
        Some("https://example.com/logo.png")
    );
    assert_eq!(entry.variant_labels(), ["acme (default)", "other"]);
    assert_eq!(
        entry.variants[1].source,
        VariantSource::Ref(format!("{}/defs/tap-demo--other.json", hub.base))
    );
}

#[tokio::test]
async fn definition_follows_the_ref() {
    let hub = FakeHub::start().await;
    hub.serve_demo();
    let cache = tempfile::tempdir().unwrap();
    let client = client(&hub, &cache);
    let found = client
        .definition(PluginType::Extractors, "tap-demo", None, CacheMode::Refresh)
        .await
        .unwrap();
    assert!(found.is_default_variant);
    assert_eq!(found.definition.plugin_type, Some(PluginType::Extractors));
    assert_eq!(found.definition.variant.as_deref(), Some("acme"));
    assert_eq!(
        found.definition.to_lock_json(),
        include_str!("fixtures/tap-demo--acme.lock")
    );
    let other = client
        .definition(
            PluginType::Extractors,
            "tap-demo",
            Some("other"),
            CacheMode::Refresh,
        )
        .await
        .unwrap();
    assert!(!other.is_default_variant);
    assert_eq!(other.definition.pip_url.as_deref(), Some("tap-demo-other"));
    assert_eq!(
        hub.paths(),
        [
            INDEX,
            "/defs/tap-demo--acme.json",
            INDEX,
            "/defs/tap-demo--other.json"
        ]
    );
}

#[tokio::test]
async fn sends_meltanos_headers() {
    let hub = FakeHub::start().await;
    hub.serve_demo();
    let cache = tempfile::tempdir().unwrap();
    let mut config = config(&hub, &cache);
    config.auth = Some("Bearer s3cret".into());
    config.project_id = Some("0f8b-project".into());
    HubClient::new(config).unwrap().ping().await.unwrap();

    let plain = HubClient::new(HubConfig {
        command: None,
        ..HubConfig::new(&hub.base, None)
    })
    .unwrap();
    plain.ping().await.unwrap();

    let requests = hub.requests();
    assert_eq!(requests.len(), 2);
    let first = &requests[0];
    assert_eq!(first.path, "/meltano/api/v1/plugins/orchestrators/index");
    assert_eq!(first.header("accept"), Some("application/json"));
    assert_eq!(first.header("user-agent"), Some("Meltano/4.4.1"));
    assert_eq!(first.header("x-meltano-command"), Some("meltano add"));
    assert_eq!(first.header("authorization"), Some("Bearer s3cret"));
    assert_eq!(first.header("x-project-id"), Some("0f8b-project"));
    let second = &requests[1];
    assert_eq!(second.header("user-agent"), Some("Meltano/4.4.1"));
    assert_eq!(second.header("x-meltano-command"), None);
    assert_eq!(second.header("authorization"), None);
    assert_eq!(second.header("x-project-id"), None);
}

#[tokio::test]
async fn retries_on_503_then_succeeds() {
    let hub = FakeHub::start().await;
    hub.route(INDEX, &[(503, ""), (503, ""), (200, "{}")]);
    let cache = tempfile::tempdir().unwrap();
    let index = client(&hub, &cache)
        .index(PluginType::Extractors, CacheMode::Refresh)
        .await
        .unwrap();
    assert!(index.is_empty());
    assert_eq!(hub.paths().len(), 3);
}

#[tokio::test]
async fn gives_up_after_three_retries() {
    let hub = FakeHub::start().await;
    hub.route(INDEX, &[(503, "")]);
    hub.route("/meltano/api/v1/plugins/loaders/index", &[(500, "")]);
    let cache = tempfile::tempdir().unwrap();
    let client = client(&hub, &cache);
    let index_err = client
        .index(PluginType::Extractors, CacheMode::Refresh)
        .await
        .unwrap_err();
    assert_eq!(hub.paths().len(), 4);
    let loaders_err = client
        .index(PluginType::Loaders, CacheMode::Refresh)
        .await
        .unwrap_err();
    insta::assert_snapshot!(format!("{index_err}\n{loaders_err}"));
}

#[tokio::test]
async fn error_messages() {
    let hub = FakeHub::start().await;
    hub.serve_demo();
    hub.route("/meltano/api/v1/plugins/loaders/index", &[(401, "")]);
    hub.route(
        "/meltano/api/v1/plugins/utilities/index",
        &[(401, r#"{"message": "Log in to see utilities."}"#)],
    );
    hub.route(
        "/meltano/api/v1/plugins/mappers/index",
        &[(200, "not json")],
    );
    let broken = serde_json::json!({"tap-broken": {"default_variant": "x", "variants": {
        "x": {"ref": format!("{}/defs/missing.json", hub.base)}}}});
    hub.route(
        "/meltano/api/v1/plugins/orchestrators/index",
        &[(200, &broken.to_string())],
    );
    let cache = tempfile::tempdir().unwrap();
    let client = client(&hub, &cache);
    let mut messages = Vec::new();
    let mut push = |e: HubError| messages.push(e.to_string());

    push(
        client
            .index(PluginType::Loaders, CacheMode::Refresh)
            .await
            .unwrap_err(),
    );
    push(
        client
            .index(PluginType::Utilities, CacheMode::Refresh)
            .await
            .unwrap_err(),
    );
    push(
        client
            .index(PluginType::Transforms, CacheMode::Refresh)
            .await
            .unwrap_err(),
    );
    push(
        client
            .index(PluginType::Mappers, CacheMode::Refresh)
            .await
            .unwrap_err(),
    );
    let t = PluginType::Extractors;
    push(
        client
            .definition(t, "tap-nope", None, CacheMode::Refresh)
            .await
            .unwrap_err(),
    );
    push(
        client
            .definition(t, "tap-demo", Some("zz"), CacheMode::Refresh)
            .await
            .unwrap_err(),
    );
    let o = PluginType::Orchestrators;
    push(
        client
            .definition(o, "tap-broken", None, CacheMode::Refresh)
            .await
            .unwrap_err(),
    );

    // With hub_url_auth set, a 401 is reported as a status, not as a login hint.
    let mut with_auth = config(&hub, &cache);
    with_auth.auth = Some("token".into());
    let with_auth = HubClient::new(with_auth).unwrap();
    push(
        with_auth
            .index(PluginType::Loaders, CacheMode::Refresh)
            .await
            .unwrap_err(),
    );

    // Mappings are never on the Hub: no request, no plugins.
    assert!(
        client
            .index(PluginType::Mappings, CacheMode::Refresh)
            .await
            .unwrap()
            .is_empty()
    );
    push(
        client
            .definition(PluginType::Mappings, "m", None, CacheMode::Refresh)
            .await
            .unwrap_err(),
    );

    insta::assert_snapshot!(crate::scrub(cache.path(), &messages.join("\n")));
}

#[tokio::test]
async fn unreachable_hub() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let cache = tempfile::tempdir().unwrap();
    let mut config = HubConfig::new(&format!("http://127.0.0.1:{port}"), None);
    config.cache_dir = Some(cache.path().to_path_buf());
    let err = HubClient::new(config).unwrap().ping().await.unwrap_err();
    assert!(matches!(err, HubError::Connection { .. }));
    insta::assert_snapshot!(crate::scrub(cache.path(), &err.to_string()));
}

#[tokio::test]
async fn cache_is_written_always_and_read_only_on_request() {
    let hub = FakeHub::start().await;
    hub.serve_demo();
    let cache = tempfile::tempdir().unwrap();
    let client = client(&hub, &cache);
    let t = PluginType::Extractors;

    // Miss: fetched and cached.
    client.index(t, CacheMode::PreferCache).await.unwrap();
    let file = cache_path(cache.path(), &client.index_url(t));
    assert!(file.starts_with(cache.path().join("hub")));
    assert!(file.exists());
    assert_eq!(hub.paths().len(), 1);

    // Hit: no request.
    let cached = client.index(t, CacheMode::PreferCache).await.unwrap();
    assert_eq!(cached[0].name, "tap-demo");
    assert_eq!(hub.paths().len(), 1);

    // Refresh always fetches.
    client.index(t, CacheMode::Refresh).await.unwrap();
    assert_eq!(hub.paths().len(), 2);

    // Definitions are cached by their ref URL too.
    client
        .definition(t, "tap-demo", None, CacheMode::PreferCache)
        .await
        .unwrap();
    assert_eq!(hub.paths(), [INDEX, INDEX, "/defs/tap-demo--acme.json"]);
    client
        .definition(t, "tap-demo", None, CacheMode::PreferCache)
        .await
        .unwrap();
    assert_eq!(hub.paths().len(), 3);

    // Older than an hour: fetched again.
    let stale = SystemTime::now() - Duration::from_secs(2 * 60 * 60);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(stale)
        .unwrap();
    client.index(t, CacheMode::PreferCache).await.unwrap();
    assert_eq!(hub.paths().len(), 4);
}

#[test]
fn cache_file_name_is_the_sha256_of_the_url() {
    let path = cache_path(
        std::path::Path::new("/c"),
        "https://hub.meltano.com/meltano/api/v1/plugins/extractors/index",
    );
    let name = path.file_name().unwrap().to_str().unwrap();
    assert_eq!(path.parent().unwrap(), std::path::Path::new("/c/hub"));
    assert_eq!(name.len(), 64 + ".json".len());
    // sha256 of "abc", a known vector, through the same function.
    let abc = cache_path(std::path::Path::new("/c"), "abc");
    assert_eq!(
        abc.file_name().unwrap().to_str().unwrap(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.json"
    );
}
