//! A TCP proxy that can break on demand, to test what a client does when the server behind it
//! goes away, answers errors, or refuses its credentials, without losing the server's data.
//!
//! Each connection is checked against the current [`Fault`] when it opens: `None` relays bytes
//! both ways, the others answer (or drop) at once. Built for HTTP/1.0 servers such as
//! [`crate::S3Server`], where every request opens its own connection.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, atomic::AtomicBool};
use std::thread;

/// What the proxy does to new connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Fault {
    /// Relay to the server.
    None = 0,
    /// Close the connection without answering (a server that went away).
    Drop = 1,
    /// Answer `500 Internal Server Error`.
    ServerError = 2,
    /// Answer `403 Forbidden` with S3's `InvalidAccessKeyId` (credentials refused).
    Forbidden = 3,
}

/// A running proxy on a free port of 127.0.0.1; stops accepting when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    port: u16,
    fault: Arc<AtomicU8>,
    stopped: Arc<AtomicBool>,
}

impl FaultProxy {
    /// A proxy to `127.0.0.1:<target_port>`.
    pub fn start(target_port: u16) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        let fault = Arc::new(AtomicU8::new(Fault::None as u8));
        let stopped = Arc::new(AtomicBool::new(false));
        let (f, s) = (fault.clone(), stopped.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = stream else { continue };
                let fault = f.load(Ordering::SeqCst);
                thread::spawn(move || serve(client, fault, target_port));
            }
        });
        Ok(FaultProxy {
            port,
            fault,
            stopped,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Sets what happens to the next connections.
    pub fn set(&self, fault: Fault) {
        self.fault.store(fault as u8, Ordering::SeqCst);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
    }
}

fn serve(mut client: TcpStream, fault: u8, target_port: u16) {
    let answer = |status: &str, body: &str| {
        format!(
            "HTTP/1.0 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let canned = match fault {
        1 => {
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
        2 => Some(answer(
            "500 Internal Server Error",
            "<Error><Code>InternalError</Code><Message>injected</Message></Error>",
        )),
        3 => Some(answer(
            "403 Forbidden",
            "<Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided \
             does not exist in our records.</Message></Error>",
        )),
        _ => None,
    };
    if let Some(canned) = canned {
        // Read the request head first, as a server would, so the client sees an answer.
        let mut buf = [0u8; 8192];
        let _ = client.read(&mut buf);
        let _ = client.write_all(canned.as_bytes());
        let _ = client.shutdown(Shutdown::Both);
        return;
    }
    let Ok(server) = TcpStream::connect((Ipv4Addr::LOCALHOST, target_port)) else {
        return;
    };
    let (Ok(mut client_read), Ok(mut server_write)) = (client.try_clone(), server.try_clone())
    else {
        return;
    };
    let upstream = thread::spawn(move || {
        let _ = std::io::copy(&mut client_read, &mut server_write);
        let _ = server_write.shutdown(Shutdown::Write);
    });
    let mut server_read = server;
    let _ = std::io::copy(&mut server_read, &mut client);
    let _ = client.shutdown(Shutdown::Both);
    let _ = upstream.join();
}
