//! A backend's configuration, resolved by the caller from Meltano's `state_backend.*` settings,
//! and the parts of its URI as Python's `urlparse` splits them.

use std::time::Duration;

/// Everything a backend needs; the caller resolves the settings (with their env vars).
#[derive(Debug, Clone, Default)]
pub struct BackendConfig {
    /// `state_backend.uri`.
    pub uri: String,
    /// `state_backend.lock_timeout_seconds`: a lock not renewed for this long is expired.
    pub lock_timeout: Duration,
    /// `state_backend.lock_retry_seconds`: how long an edit waits between two tries of a lock.
    pub lock_retry: Duration,
    pub s3: S3Settings,
    pub gcs: GcsSettings,
    pub azure: AzureSettings,
}

/// `state_backend.s3.*`.
#[derive(Debug, Clone, Default)]
pub struct S3Settings {
    pub aws_access_key_id: Option<String>,
    pub aws_secret_access_key: Option<String>,
    pub endpoint_url: Option<String>,
}

/// `state_backend.gcs.*`.
#[derive(Debug, Clone, Default)]
pub struct GcsSettings {
    /// The deprecated name of `application_credentials_path`.
    pub application_credentials: Option<String>,
    pub application_credentials_path: Option<String>,
    pub application_credentials_json: Option<String>,
}

/// `state_backend.azure.*`.
#[derive(Debug, Clone, Default)]
pub struct AzureSettings {
    pub connection_string: Option<String>,
    pub storage_account_url: Option<String>,
}

/// A URI split as Python's `urlparse` splits it (`scheme://user:password@host/path`); no part
/// is percent-decoded, as Meltano passes them on raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedUri<'a> {
    pub scheme: &'a str,
    pub username: Option<&'a str>,
    pub password: Option<&'a str>,
    /// The host without user-info or port: the bucket or container.
    pub host: &'a str,
    /// Everything from the first `/` after the authority (without query or fragment).
    pub path: &'a str,
}

impl<'a> ParsedUri<'a> {
    pub fn parse(uri: &'a str) -> ParsedUri<'a> {
        let (scheme, rest) = match uri.split_once("://") {
            Some((scheme, rest)) => (scheme, rest),
            None => match uri.split_once(':') {
                Some((scheme, rest)) if !scheme.contains('/') => (scheme, rest),
                _ => ("", uri),
            },
        };
        let rest = rest.split(['?', '#']).next().unwrap_or(rest);
        let (authority, path) = match rest.find('/') {
            Some(at) if uri.contains("://") => (&rest[..at], &rest[at..]),
            None if uri.contains("://") => (rest, ""),
            _ => ("", rest),
        };
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
            None => (None, authority),
        };
        let (username, password) = match userinfo {
            Some(info) => match info.split_once(':') {
                Some((user, password)) => (Some(user), Some(password)),
                None => (Some(info), None),
            },
            None => (None, None),
        };
        let host = match hostport.rfind(':') {
            Some(at) if hostport[at + 1..].bytes().all(|b| b.is_ascii_digit()) => &hostport[..at],
            _ => hostport,
        };
        ParsedUri {
            scheme,
            username: username.filter(|u| !u.is_empty()),
            password: password.filter(|p| !p.is_empty()),
            host,
            path,
        }
    }
}

/// `uri` without its user-info (`s3://KEY:SECRET@bucket` names a secret): what messages show.
pub fn redact_uri(uri: &str) -> String {
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
    fn uris_split_as_urlparse_splits_them() {
        let p = ParsedUri::parse("s3://AKIA:se:cret@my-bucket/some/prefix");
        assert_eq!(p.scheme, "s3");
        assert_eq!(p.username, Some("AKIA"));
        assert_eq!(p.password, Some("se:cret"));
        assert_eq!(p.host, "my-bucket");
        assert_eq!(p.path, "/some/prefix");
        let p = ParsedUri::parse("file:////tmp/project/.meltano/state");
        assert_eq!(
            (p.scheme, p.host, p.path),
            ("file", "", "//tmp/project/.meltano/state")
        );
        let p = ParsedUri::parse("gs://bucket");
        assert_eq!((p.host, p.path), ("bucket", ""));
        assert_eq!(ParsedUri::parse("systemdb").scheme, "");
    }

    #[test]
    fn redaction_removes_user_info_only() {
        assert_eq!(
            redact_uri("s3://AKIAX:topsecret@bucket/prefix"),
            "s3://*****@bucket/prefix"
        );
        assert_eq!(redact_uri("s3://bucket/a@b"), "s3://bucket/a@b");
        assert_eq!(redact_uri("systemdb"), "systemdb");
    }
}
