//! A throwaway PostgreSQL server for tests.
//!
//! `initdb` creates a cluster in a temporary directory (trust auth, `fsync=off`) and `pg_ctl` starts it on a free
//! port of 127.0.0.1. PostgreSQL refuses to run as root, so as root the server runs as `nobody` via `runuser`.
//!
//! Stopping: [`Drop`] stops the server, but a `static` (see [`PgServer::shared`]) is never dropped, and a test
//! binary may be killed. So every server gets a watchdog: a tiny `sh` loop in its own process group that polls
//! the test process with `kill -0` once a second and, as soon as the test process is gone (or the temporary
//! directory was removed by `Drop`), runs `pg_ctl stop -m immediate` and deletes the directory. It is started
//! before `initdb`, so a test process killed at any point leaves neither a server nor files behind.

use std::ffi::OsString;
use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use tempfile::TempDir;

/// Why a throwaway PostgreSQL server could not be started or used.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// No PostgreSQL server binaries on this machine.
    #[error(
        "no PostgreSQL server binaries found (looked at $PG_BIN, /usr/lib/postgresql/*/bin and `initdb` on PATH): \
         install the `postgresql` Debian package (`apt-get install postgresql`) or set PG_BIN to the directory \
         holding initdb, pg_ctl and psql"
    )]
    NotInstalled,
    /// `PG_BIN` points somewhere without the binaries we need.
    #[error("PG_BIN=`{}` does not contain initdb, pg_ctl and psql", .0.display())]
    BadPgBin(PathBuf),
    /// An IO operation (temp dir, spawning a process) failed.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The underlying error.
        source: io::Error,
    },
    /// A PostgreSQL tool exited unsuccessfully.
    #[error("`{command}` failed ({status}):\n{output}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// Its stdout and stderr (and the server log when starting).
        output: String,
    },
    /// Database names are restricted so they never need quoting.
    #[error("invalid database name `{0}`: use lowercase ASCII letters, digits and underscores")]
    BadName(String),
    /// The process-wide server of [`PgServer::shared`] failed to start earlier.
    #[error("the shared PostgreSQL test server could not be started: {0}")]
    Shared(String),
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> PgError {
    let context = context.into();
    move |source| PgError::Io { context, source }
}

/// A running throwaway PostgreSQL cluster; superuser `postgres`, trust authentication, 127.0.0.1 only.
#[derive(Debug)]
pub struct PgServer {
    port: u16,
    bin: PathBuf,
    data: PathBuf,
    as_nobody: bool,
    next_db: AtomicUsize,
    // Last field: removed after `Drop::drop` stopped the server.
    dir: TempDir,
}

impl PgServer {
    /// Starts a new server; prefer [`PgServer::shared`], which starts one per test binary.
    pub fn start() -> Result<PgServer, PgError> {
        let bin = find_bin()?;
        let as_nobody = is_root();
        let dir = tempfile::Builder::new()
            .prefix("meltano-pg-")
            .tempdir()
            .map_err(io_err("create a temporary directory for PostgreSQL"))?;
        if as_nobody {
            run(Command::new("chown").arg("nobody").arg(dir.path()))?;
        }
        let data = dir.path().join("data");
        // Before initdb, so even a test process killed while the cluster starts leaves nothing behind.
        spawn_watchdog(&bin, &data, dir.path(), as_nobody)?;
        let mut initdb = owner_command(as_nobody, &bin.join("initdb"));
        initdb.current_dir(dir.path()).arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        run(&mut initdb)?;

        let log = dir.path().join("postgres.log");
        let mut last_error = None;
        for _ in 0..5 {
            let port = free_port()?;
            let mut pg_ctl = owner_command(as_nobody, &bin.join("pg_ctl"));
            pg_ctl
                .current_dir(dir.path())
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "60", "-o"])
                .arg(format!(
                    "-p {port} -k '{}' -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
                     -c full_page_writes=off",
                    dir.path().display()
                ))
                .arg("start");
            match run(&mut pg_ctl) {
                Ok(_) => {
                    return Ok(PgServer {
                        port,
                        bin,
                        data,
                        as_nobody,
                        next_db: AtomicUsize::new(0),
                        dir,
                    });
                }
                Err(PgError::Command {
                    command,
                    status,
                    mut output,
                }) => {
                    let server_log = std::fs::read_to_string(&log).unwrap_or_default();
                    output.push_str(&server_log);
                    let port_taken = server_log.contains("could not bind");
                    last_error = Some(PgError::Command {
                        command,
                        status,
                        output,
                    });
                    if !port_taken {
                        break;
                    }
                }
                Err(other) => return Err(other),
            }
        }
        Err(last_error.unwrap_or(PgError::NotInstalled))
    }

    /// The server shared by every test of this process, started on first use; each test should create its
    /// own database with [`PgServer::fresh_database`].
    pub fn shared() -> Result<&'static PgServer, PgError> {
        static SHARED: OnceLock<Result<PgServer, String>> = OnceLock::new();
        match SHARED.get_or_init(|| PgServer::start().map_err(|e| e.to_string())) {
            Ok(server) => Ok(server),
            Err(message) => Err(PgError::Shared(message.clone())),
        }
    }

    /// The directory holding the cluster, its socket and `postgres.log`: where to look when a test fails.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The TCP port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A SQLAlchemy-style URI for database `db`, as a Meltano user would write it in `database_uri`.
    pub fn uri(&self, db: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates database `name` (lowercase letters, digits and underscores only).
    pub fn create_database(&self, name: &str) -> Result<(), PgError> {
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(PgError::BadName(name.to_owned()));
        }
        self.psql("postgres", &format!("CREATE DATABASE {name}"))
            .map(drop)
    }

    /// Creates a database with a name unique in this process (`{prefix}_{n}`) and returns the name.
    pub fn fresh_database(&self, prefix: &str) -> Result<String, PgError> {
        let n = self.next_db.fetch_add(1, Ordering::Relaxed);
        let name = format!("{prefix}_{n}");
        self.create_database(&name)?;
        Ok(name)
    }

    /// Runs SQL with `psql` in database `db` (stopping at the first error) and returns its unaligned,
    /// tuples-only output: handy for setting up fixtures independently of the code under test.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, PgError> {
        let output = run(self.psql_command(db).args(["-A", "-t", "-c", sql]))?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Runs the SQL file `path` with `psql` in database `db`, stopping at the first error: restores a plain
    /// [`PgServer::dump`].
    pub fn psql_file(&self, db: &str, path: &Path) -> Result<(), PgError> {
        run(self.psql_command(db).arg("-f").arg(path)).map(drop)
    }

    /// `psql` against database `db` as `postgres`, quiet and stopping at the first error.
    fn psql_command(&self, db: &str) -> Command {
        let mut command = Command::new(self.bin.join("psql"));
        command
            .args([
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
            ])
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-d")
            .arg(db);
        command
    }

    /// `pg_dump` of database `db` in plain SQL, with extra arguments such as `--schema-only`: a whole database
    /// kept as a file, or its schema compared as text.
    pub fn dump(&self, db: &str, args: &[&str]) -> Result<String, PgError> {
        let output = run(Command::new(self.bin.join("pg_dump"))
            .args(["-h", "127.0.0.1", "-U", "postgres"])
            .arg("-p")
            .arg(self.port.to_string())
            .args(args)
            .arg(db))?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let mut stop = owner_command(self.as_nobody, &self.bin.join("pg_ctl"));
        stop.current_dir("/")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"]);
        let _ = run(&mut stop);
        // The TempDir field removes the directory next; the watchdog notices and exits.
    }
}

/// Starts the watchdog that stops the server and removes `dir` once this process is gone (see the module docs).
fn spawn_watchdog(bin: &Path, data: &Path, dir: &Path, as_nobody: bool) -> Result<(), PgError> {
    const SCRIPT: &str = r#"pid=$1; pg_ctl=$2; data=$3; dir=$4; shift 4
while kill -0 "$pid" 2>/dev/null && [ -d "$dir" ]; do sleep 1; done
[ -f "$data/postmaster.pid" ] && "$@" "$pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1
# An orphaned initdb may still be writing: retry until the directory stays gone.
for _ in 1 2 3 4 5 6 7 8 9 10; do rm -rf "$dir" 2>/dev/null; [ -e "$dir" ] || break; sleep 1; done"#;
    let mut watchdog = Command::new("sh");
    watchdog
        .arg("-c")
        .arg(SCRIPT)
        .arg("meltano-pg-watchdog")
        .arg(std::process::id().to_string())
        .arg(bin.join("pg_ctl"))
        .arg(data)
        .arg(dir);
    if as_nobody {
        watchdog.args(["runuser", "-u", "nobody", "--"]);
    }
    watchdog
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group, so Ctrl-C or a test runner killing our group does not take it down too.
        .process_group(0)
        .spawn()
        .map_err(io_err("start the PostgreSQL watchdog (sh)"))?;
    Ok(())
}

/// A command that runs as the owner of the cluster: ourselves, or `nobody` when we are root.
fn owner_command(as_nobody: bool, program: &Path) -> Command {
    if as_nobody {
        let mut command = Command::new("runuser");
        command.args(["-u", "nobody", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// Runs a command to completion, turning a non-zero exit into an error carrying its output.
fn run(command: &mut Command) -> Result<Output, PgError> {
    let line = format!("{command:?}");
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(io_err(format!("run {line}")))?;
    if output.status.success() {
        return Ok(output);
    }
    Err(PgError::Command {
        command: line,
        status: output.status.to_string(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    })
}

/// Whether we run as root, judged by the owner of `/proc/self` (the effective uid).
fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Asks the kernel for a free port; it could be taken before PostgreSQL binds it, so callers retry.
fn free_port() -> Result<u16, PgError> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(io_err("find a free TCP port"))?;
    let port = listener
        .local_addr()
        .map_err(io_err("find a free TCP port"))?
        .port();
    Ok(port)
}

fn has_tools(dir: &Path) -> bool {
    ["initdb", "pg_ctl", "psql"]
        .iter()
        .all(|tool| dir.join(tool).is_file())
}

/// `PG_BIN`, else the newest `/usr/lib/postgresql/<version>/bin`, else the directory of `initdb` on PATH.
fn find_bin() -> Result<PathBuf, PgError> {
    find_bin_in(
        std::env::var_os("PG_BIN"),
        Path::new("/usr/lib/postgresql"),
        std::env::var_os("PATH"),
    )
}

fn find_bin_in(
    pg_bin: Option<OsString>,
    versions_dir: &Path,
    path: Option<OsString>,
) -> Result<PathBuf, PgError> {
    if let Some(pg_bin) = pg_bin.filter(|v| !v.is_empty()) {
        let dir = PathBuf::from(pg_bin);
        return if has_tools(&dir) {
            Ok(dir)
        } else {
            Err(PgError::BadPgBin(dir))
        };
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir(versions_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let version = name
                .split('.')
                .map(str::parse)
                .collect::<Result<Vec<u32>, _>>()
                .ok()?;
            let bin = entry.path().join("bin");
            has_tools(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    std::env::split_paths(&path.unwrap_or_default())
        .find(|dir| has_tools(dir))
        .ok_or(PgError::NotInstalled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_creates_databases_and_stops() {
        let server = PgServer::start().unwrap();
        let db = server.fresh_database("smoke").unwrap();
        assert_eq!(db, "smoke_0");
        assert_eq!(server.psql(&db, "SELECT 40 + 2").unwrap().trim(), "42");
        assert!(
            server
                .uri(&db)
                .starts_with("postgresql://postgres@127.0.0.1:")
        );
        assert!(matches!(
            server.create_database("Bad-Name"),
            Err(PgError::BadName(_))
        ));
        let dir = server.dir().to_path_buf();
        drop(server);
        assert!(!dir.exists());
    }

    fn fake_bin(dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        for tool in ["initdb", "pg_ctl", "psql"] {
            std::fs::write(dir.join(tool), "").unwrap();
        }
    }

    #[test]
    fn binaries_are_found_in_order() {
        let root = tempfile::tempdir().unwrap();
        let versions = root.path().join("lib");
        for version in ["9.6", "15", "13"] {
            fake_bin(&versions.join(version).join("bin"));
        }
        std::fs::create_dir_all(versions.join("16")).unwrap(); // no bin: ignored
        let on_path = root.path().join("path-bin");
        fake_bin(&on_path);

        let newest = find_bin_in(None, &versions, Some(on_path.clone().into())).unwrap();
        assert_eq!(newest, versions.join("15").join("bin"));
        let explicit = find_bin_in(Some(on_path.clone().into()), &versions, None).unwrap();
        assert_eq!(explicit, on_path);
        let bad = find_bin_in(Some(root.path().into()), &versions, None).unwrap_err();
        assert!(matches!(bad, PgError::BadPgBin(_)), "{bad}");
        let from_path = find_bin_in(
            None,
            &root.path().join("none"),
            Some(on_path.clone().into()),
        )
        .unwrap();
        assert_eq!(from_path, on_path);
    }

    #[test]
    fn missing_binaries_say_what_to_install() {
        let root = tempfile::tempdir().unwrap();
        let err = find_bin_in(None, root.path(), Some(root.path().into())).unwrap_err();
        assert!(matches!(err, PgError::NotInstalled));
        assert!(
            err.to_string()
                .contains("install the `postgresql` Debian package"),
            "{err}"
        );
    }
}
