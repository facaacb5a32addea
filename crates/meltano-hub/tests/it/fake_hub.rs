//! A tiny HTTP/1.1 server shaped like MeltanoHub, for tests: scripted responses per path, and a
//! record of every request (path and headers).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    /// Responses per path; the last one repeats.
    routes: HashMap<String, VecDeque<(u16, String)>>,
    requests: Vec<Recorded>,
}

/// A running fake Hub on 127.0.0.1.
#[derive(Clone)]
pub struct FakeHub {
    pub base: String,
    state: Arc<Mutex<State>>,
}

impl FakeHub {
    pub async fn start() -> FakeHub {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let server_state = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let state = Arc::clone(&server_state);
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).to_string();
                    let mut lines = head.split("\r\n");
                    let request_line = lines.next().unwrap_or_default();
                    let path = request_line
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or_default()
                        .to_string();
                    let headers = lines
                        .take_while(|l| !l.is_empty())
                        .filter_map(|l| l.split_once(':'))
                        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
                        .collect();
                    let (status, body) = {
                        let mut st = state.lock().unwrap();
                        st.requests.push(Recorded {
                            path: path.clone(),
                            headers,
                        });
                        match st.routes.get_mut(&path) {
                            Some(queue) if queue.len() > 1 => queue.pop_front().unwrap(),
                            Some(queue) => queue.front().cloned().unwrap(),
                            None => (404, String::new()),
                        }
                    };
                    let reason = match status {
                        200 => "OK",
                        401 => "Unauthorized",
                        404 => "Not Found",
                        500 => "Internal Server Error",
                        503 => "Service Unavailable",
                        _ => "Whatever",
                    };
                    let response = format!(
                        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        FakeHub { base, state }
    }

    /// Answers `path` with these responses in turn, repeating the last.
    pub fn route(&self, path: &str, responses: &[(u16, &str)]) {
        let queue = responses
            .iter()
            .map(|(s, b)| (*s, (*b).to_string()))
            .collect();
        self.state
            .lock()
            .unwrap()
            .routes
            .insert(path.to_string(), queue);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn paths(&self) -> Vec<String> {
        self.requests().into_iter().map(|r| r.path).collect()
    }

    /// Serves the demo catalogue: extractors `tap-demo` (acme, default; other) whose refs point
    /// at `/defs/...` to prove refs are followed, and loaders `target-demo`.
    pub fn serve_demo(&self) {
        let index = serde_json::json!({
            "tap-demo": {
                "logo_url": "https://example.com/logo.png",
                "default_variant": "acme",
                "variants": {
                    "acme": {"ref": format!("{}/defs/tap-demo--acme.json", self.base)},
                    "other": {"ref": format!("{}/defs/tap-demo--other.json", self.base)},
                }
            }
        });
        self.route(
            "/meltano/api/v1/plugins/extractors/index",
            &[(200, &index.to_string())],
        );
        self.route("/defs/tap-demo--acme.json", &[(200, TAP_DEMO_ACME)]);
        self.route("/defs/tap-demo--other.json", &[(200, TAP_DEMO_OTHER)]);
        self.route(
            "/meltano/api/v1/plugins/orchestrators/index",
            &[(200, "{}")],
        );
    }
}

/// A Hub definition with a deprecated `kind: password` and extra keys.
pub const TAP_DEMO_ACME: &str = r#"{
  "name": "tap-demo", "namespace": "tap_demo", "variant": "acme", "label": "Demo",
  "description": "A demo tap", "logo_url": "https://example.com/logo.png",
  "docs": "https://hub.meltano.com/extractors/tap-demo--acme", "repo": "https://github.com/acme/tap-demo",
  "pip_url": "tap-demo", "executable": "tap-demo",
  "capabilities": ["catalog", "discover", "state"],
  "settings_group_validation": [["api_key"]],
  "settings": [
    {"name": "api_key", "kind": "password", "label": "API Key", "description": "The key", "sensitive": true},
    {"name": "start_date", "kind": "date_iso8601", "label": "Start Date"},
    {"name": "page_size", "kind": "integer", "value": 100}
  ],
  "keywords": ["demo"], "maintenance_status": "active", "domain_url": "https://acme.com", "quality": "gold"
}"#;

const TAP_DEMO_OTHER: &str = r#"{
  "name": "tap-demo", "namespace": "tap_demo", "variant": "other", "pip_url": "tap-demo-other",
  "capabilities": ["properties", "discover"], "settings": [{"name": "token", "sensitive": true}]
}"#;
