//! An S3 emulator for tests: moto in server mode on a free port of 127.0.0.1.
//!
//! moto's own `moto_server` handles requests on several threads, and its conditional puts are a
//! check followed by a write, so two racing `If-None-Match: *` puts can both succeed. Real S3
//! decides them atomically; to get the same here the server runs single-threaded (one request at
//! a time, HTTP/1.0), which makes each conditional put atomic. The server exits when its stdin
//! closes, that is when the test process ends, however it ends.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crate::venv::{VenvError, python_with};

/// The moto release the tests are written against.
const MOTO: &str = "moto[server]==5.2.6";

const LAUNCHER: &str = r#"
import os, sys, threading
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
app = DomainDispatcherApplication(create_backend_app)
run_simple("127.0.0.1", int(sys.argv[1]), app, threaded=False, request_handler=MotoRequestHandler)
"#;

/// A running moto S3 server.
#[derive(Debug)]
pub struct S3Server {
    port: u16,
    python: PathBuf,
    child: Option<(Child, ChildStdin)>,
}

impl S3Server {
    /// Installs moto if needed (see [`crate::venv`]) and starts it.
    pub fn start() -> Result<S3Server, VenvError> {
        let python = python_with("moto", &[MOTO])?;
        let mut server = S3Server {
            port: free_port()?,
            python,
            child: None,
        };
        server.resume()?;
        Ok(server)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates a bucket.
    pub fn create_bucket(&self, name: &str) -> Result<(), VenvError> {
        let (status, body) = self.request("PUT", &format!("/{name}"))?;
        if status != 200 {
            return Err(VenvError::Unavailable(format!(
                "creating bucket {name} answered {status}: {body}"
            )));
        }
        Ok(())
    }

    /// The body of an object, or None.
    pub fn get_object(&self, bucket: &str, key: &str) -> Result<Option<String>, VenvError> {
        let (status, body) = self.request("GET", &format!("/{bucket}/{key}"))?;
        Ok((status == 200).then_some(body))
    }

    /// Stops the server (its data is lost), as a store that went away.
    pub fn stop(&mut self) {
        if let Some((mut child, stdin)) = self.child.take() {
            drop(stdin);
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (empty).
    pub fn resume(&mut self) -> Result<(), VenvError> {
        let mut child = Command::new(&self.python)
            .args(["-c", LAUNCHER, &self.port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| VenvError::Io {
                context: "start moto".to_string(),
                source,
            })?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| VenvError::Unavailable("moto started without a stdin".to_string()))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_err() {
            if Instant::now() > deadline {
                let _ = child.kill();
                return Err(VenvError::Unavailable(
                    "moto did not start listening within 30 s".to_string(),
                ));
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(VenvError::Unavailable(format!(
                    "moto exited at start: {status}"
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child = Some((child, stdin));
        Ok(())
    }

    /// One request with a dummy signature (moto checks that there is one, not that it is right;
    /// without one it applies the objects' private ACL); status and body.
    fn request(&self, method: &str, path: &str) -> Result<(u16, String), VenvError> {
        let io = |source| VenvError::Io {
            context: format!("{method} {path} on moto"),
            source,
        };
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).map_err(io)?;
        write!(
            stream,
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/s3/aws4_request, \
             SignedHeaders=host, Signature=00\r\n\r\n",
            self.port
        )
        .map_err(io)?;
        let mut response = String::new();
        stream.read_to_string(&mut response).map_err(io)?;
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        Ok((status, body))
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> Result<u16, VenvError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|source| VenvError::Io {
        context: "find a free port".to_string(),
        source,
    })?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|source| VenvError::Io {
            context: "find a free port".to_string(),
            source,
        })
}
