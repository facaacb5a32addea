//! Translating SQLAlchemy-style `database_uri` values (as Meltano users write them) into sqlx URLs.
//!
//! SQLAlchemy's grammar is `dialect[+driver]://[user[:password]@][host[:port]]/database[?query]`; for SQLite the
//! database part is a filesystem path taken literally (no percent-decoding), relative to the current directory
//! unless it starts with `/` (hence `sqlite:////abs.db`), and an absent path means an in-memory database.

use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::{DbError, Dialect};

/// A `database_uri` resolved to something sqlx can connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DbUri {
    /// Which database engine the URI names.
    pub dialect: Dialect,
    /// The URL handed to `sqlx::any::AnyConnectOptions`.
    pub sqlx_url: String,
    /// The SQLite database file, `None` for PostgreSQL and in-memory SQLite.
    pub sqlite_file: Option<PathBuf>,
}

/// Characters that may appear unescaped in the path of a sqlx SQLite URL; everything else is percent-encoded,
/// because sqlx percent-decodes the path (and `?`/`#` would end it).
fn is_plain_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'/' | b'-' | b'_' | b'.' | b'~' | b'+' | b',' | b'=' | b'@' | b':'
        )
}

fn percent_encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        if is_plain_path_byte(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Makes `path` absolute against `cwd` and removes `.`/`..` lexically, like Python's `os.path.abspath`.
fn absolute(path: &Path, cwd: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let mut out = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Parses a `database_uri`; relative SQLite paths resolve against `cwd`.
pub(crate) fn parse(uri: &str, cwd: &Path) -> Result<DbUri, DbError> {
    let invalid = |reason: &str| DbError::InvalidUri {
        uri: redact_uri(uri),
        reason: reason.to_owned(),
    };
    let Some((scheme, rest)) = uri.split_once("://") else {
        return Err(invalid(
            "expected `<dialect>://…`, e.g. `sqlite:///.meltano/meltano.db` or `postgresql://user:password@host:5432/db`",
        ));
    };
    let scheme_lower = scheme.to_ascii_lowercase();
    let (dialect, driver) = match scheme_lower.split_once('+') {
        Some((dialect, driver)) => (dialect, Some(driver)),
        None => (scheme_lower.as_str(), None),
    };
    match (dialect, driver) {
        ("sqlite", None | Some("pysqlite")) => parse_sqlite(uri, rest, cwd),
        ("postgresql", _) | ("postgres", None) => Ok(DbUri {
            dialect: Dialect::Postgres,
            sqlx_url: format!("postgres://{rest}"),
            sqlite_file: None,
        }),
        _ => Err(DbError::UnsupportedScheme {
            scheme: scheme.to_owned(),
        }),
    }
}

fn parse_sqlite(uri: &str, rest: &str, cwd: &Path) -> Result<DbUri, DbError> {
    // Query parameters are pysqlite connect arguments (timeout, check_same_thread, …); none changes which file
    // is opened, so they are ignored.
    let location = rest
        .split_once('?')
        .map_or(rest, |(location, _query)| location);
    let database = if location.is_empty() {
        ""
    } else if let Some(database) = location.strip_prefix('/') {
        database
    } else {
        return Err(DbError::InvalidUri {
            uri: redact_uri(uri),
            reason: "a SQLite URI has no host: write `sqlite:///relative/path.db` or `sqlite:////absolute/path.db`"
                .to_owned(),
        });
    };
    if database.is_empty() || database == ":memory:" {
        static MEMORY_DB_SEQ: AtomicUsize = AtomicUsize::new(0);
        let seq = MEMORY_DB_SEQ.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        return Ok(DbUri {
            dialect: Dialect::Sqlite,
            sqlx_url: format!("sqlite:file:meltano-memory-{pid}-{seq}?mode=memory&cache=shared"),
            sqlite_file: None,
        });
    }
    let path = absolute(Path::new(database), cwd);
    let Some(path_str) = path.to_str() else {
        return Err(DbError::InvalidUri {
            uri: redact_uri(uri),
            reason: "the SQLite path is not valid UTF-8".to_owned(),
        });
    };
    Ok(DbUri {
        dialect: Dialect::Sqlite,
        sqlx_url: format!("sqlite://{}?mode=rwc", percent_encode_path(path_str)),
        sqlite_file: Some(path),
    })
}

/// Returns `uri` with its password (in the user-info part or a `password=` query parameter) replaced by
/// `********`, so it can be shown in logs and errors.
pub fn redact_uri(uri: &str) -> String {
    const MASK: &str = "********";
    let (before_query, query) = match uri.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (uri, None),
    };
    let mut out = String::with_capacity(uri.len());
    match before_query.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            out.push_str(scheme);
            out.push_str("://");
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => {
                    match userinfo.split_once(':') {
                        Some((user, _password)) => {
                            out.push_str(user);
                            out.push(':');
                            out.push_str(MASK);
                        }
                        None => out.push_str(userinfo),
                    }
                    out.push('@');
                    out.push_str(host);
                }
                None => out.push_str(authority),
            }
            out.push_str(path);
        }
        None => out.push_str(before_query),
    }
    if let Some(query) = query {
        out.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _value)) if key.eq_ignore_ascii_case("password") => {
                    format!("{key}={MASK}")
                }
                _ => pair.to_owned(),
            })
            .collect();
        out.push_str(&pairs.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cwd() -> PathBuf {
        PathBuf::from("/work/project")
    }

    #[test]
    fn sqlite_relative_path_resolves_against_cwd() {
        let db = parse("sqlite:///.meltano/meltano.db", &cwd()).unwrap();
        assert_eq!(db.dialect, Dialect::Sqlite);
        assert_eq!(
            db.sqlite_file.as_deref(),
            Some(Path::new("/work/project/.meltano/meltano.db"))
        );
        assert_eq!(
            db.sqlx_url,
            "sqlite:///work/project/.meltano/meltano.db?mode=rwc"
        );
    }

    #[test]
    fn sqlite_relative_path_is_normalised_like_abspath() {
        let db = parse("sqlite:///../other/./x.db", &cwd()).unwrap();
        assert_eq!(
            db.sqlite_file.as_deref(),
            Some(Path::new("/work/other/x.db"))
        );
    }

    #[test]
    fn sqlite_absolute_path_with_four_slashes() {
        let db = parse("sqlite:////var/lib/meltano.db", &cwd()).unwrap();
        assert_eq!(
            db.sqlite_file.as_deref(),
            Some(Path::new("/var/lib/meltano.db"))
        );
    }

    #[test]
    fn sqlite_path_is_literal_and_encoded_for_sqlx() {
        let db = parse("sqlite:////tmp/my dir/a%20b#?.db", &cwd()).unwrap();
        assert_eq!(
            db.sqlite_file.as_deref(),
            Some(Path::new("/tmp/my dir/a%20b#"))
        );
        assert_eq!(db.sqlx_url, "sqlite:///tmp/my%20dir/a%2520b%23?mode=rwc");
    }

    #[test]
    fn sqlite_query_is_ignored_and_driver_accepted() {
        let db = parse("sqlite+pysqlite:///m.db?timeout=30", &cwd()).unwrap();
        assert_eq!(
            db.sqlite_file.as_deref(),
            Some(Path::new("/work/project/m.db"))
        );
    }

    #[test]
    fn sqlite_without_path_is_in_memory() {
        for uri in ["sqlite://", "sqlite:///:memory:"] {
            let db = parse(uri, &cwd()).unwrap();
            assert_eq!(db.sqlite_file, None);
            assert!(
                db.sqlx_url.starts_with("sqlite:file:meltano-memory-"),
                "{}",
                db.sqlx_url
            );
        }
    }

    #[test]
    fn sqlite_with_host_is_rejected() {
        let err = parse("sqlite://host/x.db", &cwd()).unwrap_err();
        assert!(
            err.to_string().contains("sqlite:////absolute/path.db"),
            "{err}"
        );
    }

    #[test]
    fn postgres_schemes_are_translated_with_query() {
        for scheme in [
            "postgresql",
            "postgresql+psycopg",
            "postgresql+psycopg2",
            "postgres",
            "PostgreSQL",
        ] {
            let db = parse(
                &format!("{scheme}://u:p@h:5433/db?sslmode=disable&options=-csearch_path%3Ds"),
                &cwd(),
            )
            .unwrap();
            assert_eq!(db.dialect, Dialect::Postgres);
            assert_eq!(
                db.sqlx_url,
                "postgres://u:p@h:5433/db?sslmode=disable&options=-csearch_path%3Ds"
            );
        }
    }

    #[test]
    fn unsupported_schemes_name_the_supported_ones() {
        for uri in [
            "mysql://u@h/db",
            "mssql+pyodbc://u@h/db",
            "postgres+psycopg://u@h/db",
        ] {
            let err = parse(uri, &cwd()).unwrap_err();
            assert!(matches!(err, DbError::UnsupportedScheme { .. }), "{err}");
            assert!(err.to_string().contains("postgresql://"), "{err}");
        }
    }

    #[test]
    fn not_a_uri_is_invalid() {
        let err = parse("meltano.db", &cwd()).unwrap_err();
        assert!(matches!(err, DbError::InvalidUri { .. }), "{err}");
    }

    #[test]
    fn redaction_hides_passwords_only() {
        assert_eq!(
            redact_uri("postgresql://u:s3cret@h:5432/db"),
            "postgresql://u:********@h:5432/db"
        );
        assert_eq!(redact_uri("postgresql://u@h/db"), "postgresql://u@h/db");
        assert_eq!(
            redact_uri("postgresql://u:p@ss@h/db?x=1"),
            "postgresql://u:********@h/db?x=1"
        );
        assert_eq!(
            redact_uri("postgresql://h/db?user=u&password=pw"),
            "postgresql://h/db?user=u&password=********"
        );
        assert_eq!(redact_uri("sqlite:////a:b@c/x.db"), "sqlite:////a:b@c/x.db");
    }
}
