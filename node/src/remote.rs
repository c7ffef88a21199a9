//! The CLI's way to a running node: while `lantern run` holds the store, commands act through
//! its HTTP API (address in `DATA_DIR/api.addr`, written while the node runs; the member token
//! in `DATA_DIR/api.token`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use thiserror::Error;

pub const ADDR_FILE: &str = "api.addr";

#[derive(Debug, Error)]
pub enum RemoteError {
    #[error(
        "the store is in use by a running node, and its API address is unknown ({0} is missing); stop the node or restart it"
    )]
    NoAddress(String),
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("the running node's API at {url} did not answer: {message}")]
    Unreachable { url: String, message: String },
    #[error("the running node refused: {0}")]
    Refused(String),
}

pub struct Remote {
    base: String,
    token: String,
    agent: ureq::Agent,
}

/// Written by `lantern run` once its API listens; removed when it stops.
pub fn addr_path(root: &Path) -> PathBuf {
    root.join(ADDR_FILE)
}

impl Remote {
    /// The running node of the data dir at `root`.
    pub fn of(root: &Path) -> Result<Self, RemoteError> {
        let read = |path: PathBuf| {
            std::fs::read_to_string(&path).map(|s| s.trim().to_string()).map_err(|source| {
                if source.kind() == std::io::ErrorKind::NotFound {
                    RemoteError::NoAddress(path.display().to_string())
                } else {
                    RemoteError::Read { path: path.display().to_string(), source }
                }
            })
        };
        // A node that is starting holds the store a moment before it writes its address.
        let give_up = std::time::Instant::now() + ADDRESS_WAIT;
        let addr = loop {
            match read(addr_path(root)) {
                Err(RemoteError::NoAddress(_)) if std::time::Instant::now() < give_up => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                other => break other?,
            }
        };
        let token = read(root.join(crate::tokens::MEMBER_TOKEN_FILE))?;
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Ok(Self { base: format!("http://{addr}/api/v1"), token, agent })
    }

    fn finish(
        &self,
        url: &str,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<String, RemoteError> {
        let mut response =
            response.map_err(|e| RemoteError::Unreachable { url: url.to_string(), message: e.to_string() })?;
        let status = response.status();
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| RemoteError::Unreachable { url: url.to_string(), message: e.to_string() })?;
        if status.is_success() {
            return Ok(body);
        }
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let e = &v["error"];
        let message = e["message"].as_str().unwrap_or(&body).to_string();
        Err(RemoteError::Refused(match e["field"].as_str() {
            Some(field) => format!("{field}: {message}"),
            None => message,
        }))
    }

    /// Sends a request, again after the wait a `429 Too Many Requests` names (a few times, a
    /// few seconds at most): the node's write budget refused it before doing anything.
    fn send(
        &self,
        mut request: impl FnMut() -> Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        for _ in 0..RATE_LIMIT_RETRIES {
            let response = request()?;
            if response.status() != ureq::http::StatusCode::TOO_MANY_REQUESTS {
                return Ok(response);
            }
            let wait = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                .filter(|&s| s <= MAX_RETRY_AFTER_SECS);
            let Some(wait) = wait else { return Ok(response) };
            std::thread::sleep(Duration::from_secs(wait.max(1)));
        }
        request()
    }

    /// GET `path` (under `/api/v1`), the body as text.
    pub fn get_text(&self, path: &str) -> Result<String, RemoteError> {
        let url = format!("{}{path}", self.base);
        let r = self.send(|| self.agent.get(&url).header("Authorization", &format!("Bearer {}", self.token)).call());
        self.finish(&url, r)
    }

    pub fn get(&self, path: &str) -> Result<Value, RemoteError> {
        let text = self.get_text(path)?;
        serde_json::from_str(&text).map_err(|e| RemoteError::Refused(format!("unreadable answer: {e}")))
    }

    /// POST `body` as JSON to `path`.
    pub fn post(&self, path: &str, body: &Value) -> Result<Value, RemoteError> {
        self.post_once(path, body, None)
    }

    /// `post` with an `Idempotency-Key`, if given.
    pub fn post_once(&self, path: &str, body: &Value, key: Option<&str>) -> Result<Value, RemoteError> {
        let url = format!("{}{path}", self.base);
        let r = self.send(|| {
            let mut request = self.agent.post(&url).header("Authorization", &format!("Bearer {}", self.token));
            if let Some(key) = key {
                request = request.header("Idempotency-Key", key);
            }
            request.send_json(body)
        });
        let text = self.finish(&url, r)?;
        serde_json::from_str(&text).map_err(|e| RemoteError::Refused(format!("unreadable answer: {e}")))
    }
}

/// How long the CLI waits for a starting node to write its API address.
const ADDRESS_WAIT: Duration = Duration::from_secs(3);

/// Retries of a request the node's rate limit refused, and the longest wait honoured.
const RATE_LIMIT_RETRIES: usize = 3;
const MAX_RETRY_AFTER_SECS: u64 = 5;

/// A query string from pairs, percent-encoded; pairs without a value are left out.
pub fn query(pairs: &[(&str, Option<String>)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if let Some(v) = v {
            q.append_pair(k, v);
        }
    }
    let q = q.finish();
    if q.is_empty() { q } else { format!("?{q}") }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    use super::*;

    /// A one-connection-per-answer HTTP server on loopback giving `answers` in order; returns
    /// its address and the requests it saw.
    fn server(answers: Vec<&'static str>) -> (String, std::thread::JoinHandle<usize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let handle = std::thread::spawn(move || {
            let mut seen = 0;
            for answer in answers {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                std::io::Read::read_exact(&mut reader, &mut vec![0; length]).unwrap();
                seen += 1;
                let mut stream = stream;
                write!(stream, "{answer}").unwrap();
            }
            seen
        });
        (addr, handle)
    }

    #[test]
    fn a_write_the_rate_limit_refused_is_sent_again_after_the_wait_it_names() {
        let limited = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
        let ok = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}";
        let (addr, seen) = server(vec![limited, ok]);
        let remote = Remote {
            base: format!("http://{addr}/api/v1"),
            token: "t".into(),
            agent: ureq::Agent::config_builder().http_status_as_error(false).build().into(),
        };
        let answer = remote.post("/cases/1/publish", &serde_json::json!({})).unwrap();
        assert_eq!(answer["ok"], true);
        assert_eq!(seen.join().unwrap(), 2);
    }
}
