//! `state_backend.uri`: where incremental state is kept.
//!
//! Only the system database (`systemdb`, the default) is implemented so far. Any other backend is
//! refused by name before a run starts or state is touched, so state never lands somewhere the
//! user did not choose (and a bucket the user relies on is never silently left stale).

use crate::error::{CliError, CliResult};
use crate::settings::{SettingsStores, Subject};

/// The backends Meltano 4.4.1 knows, by URI scheme.
const KNOWN_SCHEMES: [&str; 5] = ["systemdb", "azure", "file", "gs", "s3"];

/// Fails unless the project's state backend is the system database.
pub async fn ensure_supported(stores: &SettingsStores<'_>) -> CliResult<()> {
    let settings = stores.resolve(Subject::Project).await?;
    let uri = settings
        .iter()
        .find(|r| r.spec.name == "state_backend.uri")
        .and_then(|r| r.value.as_ref())
        .and_then(|v| v.as_str())
        .unwrap_or("systemdb");
    check(uri)
}

fn check(uri: &str) -> CliResult<()> {
    if uri == "systemdb" {
        return Ok(());
    }
    let scheme = uri.split_once("://").map_or(uri, |(scheme, _)| scheme);
    if !KNOWN_SCHEMES.contains(&scheme) {
        return Err(CliError::Meltano(format!(
            "No state backend found for scheme '{scheme}', available backends are: {}. \
             Install the add-on that provides it.",
            KNOWN_SCHEMES.join(", ")
        )));
    }
    Err(CliError::Meltano(format!(
        "The state backend '{}' (setting 'state_backend.uri') is not supported yet: only 'systemdb' \
         is. Nothing was run, so no state was written elsewhere. Unset state_backend.uri to keep \
         state in the system database.",
        redact_credentials(uri)
    )))
}

/// The URI without the user-info part (`s3://KEY:SECRET@bucket` names a secret).
fn redact_credentials(uri: &str) -> String {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return uri.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://*****@{}", &rest[at + 1..]),
        None => uri.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_the_message() {
        let err = check("s3://AKIAX:topsecret@bucket/prefix").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("'s3://*****@bucket/prefix'"), "{text}");
        assert!(
            !text.contains("topsecret") && !text.contains("AKIAX"),
            "{text}"
        );
    }

    #[test]
    fn unknown_schemes_get_meltanos_message() {
        let text = check("foo://x").unwrap_err().to_string();
        assert!(
            text.starts_with("No state backend found for scheme 'foo'"),
            "{text}"
        );
        assert!(check("systemdb").is_ok());
    }
}
