//! An Azure Blob Storage emulator for tests: Azurite (npm) on a free port of 127.0.0.1, data in
//! memory. It runs under a `sh` that ends it when its stdin closes, that is when the test process
//! ends, however it ends. Containers are created with the Azure SDK for Python (`azure-storage-blob`,
//! in a cached venv), since Meltano never creates one.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crate::venv::{VenvError, npm_package, python_with};

const AZURITE: &str = "azurite@3.35.0";
/// Azurite's well-known development account.
const ACCOUNT: &str = "devstoreaccount1";
const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A running Azurite blob service.
#[derive(Debug)]
pub struct AzuriteServer {
    port: u16,
    child: Option<(Child, ChildStdin)>,
}

impl AzuriteServer {
    /// Installs Azurite if needed and starts it.
    pub fn start() -> Result<AzuriteServer, VenvError> {
        let prefix = npm_package("azurite", AZURITE)?;
        let bin = prefix.join("node_modules/.bin/azurite-blob");
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|source| VenvError::Io {
                context: "find a free port".to_string(),
                source,
            })?;
        let script = format!(
            "'{}' --blobHost 127.0.0.1 --blobPort {port} --inMemoryPersistence --silent \
             --skipApiVersionCheck --loose --disableTelemetry >/dev/null 2>&1 & pid=$!; \
             cat >/dev/null; kill $pid",
            bin.display()
        );
        let mut child = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| VenvError::Io {
                context: "start azurite".to_string(),
                source,
            })?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| VenvError::Unavailable("azurite started without a stdin".into()))?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            if Instant::now() > deadline {
                return Err(VenvError::Unavailable(
                    "azurite did not start listening within 60 s".to_string(),
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(AzuriteServer {
            port,
            child: Some((child, stdin)),
        })
    }

    /// A connection string for the development account, as users of Azurite write it.
    pub fn connection_string(&self) -> String {
        format!(
            "DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};\
             BlobEndpoint=http://127.0.0.1:{}/{ACCOUNT};",
            self.port
        )
    }

    /// The account key (a secret tests check never appears in output).
    pub fn account_key(&self) -> &'static str {
        KEY
    }

    /// Creates a container, through the Azure SDK for Python.
    pub fn create_container(&self, name: &str) -> Result<(), VenvError> {
        let python = python_with("azure-blob", &["azure-storage-blob==12.*"])?;
        let code = format!(
            "from azure.storage.blob import BlobServiceClient\n\
             BlobServiceClient.from_connection_string({:?}).create_container({name:?})",
            self.connection_string()
        );
        let output = Command::new(python)
            .args(["-c", &code])
            .output()
            .map_err(|source| VenvError::Io {
                context: "create a container".to_string(),
                source,
            })?;
        if !output.status.success() {
            return Err(VenvError::Unavailable(format!(
                "creating container {name} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        Ok(())
    }
}

impl AzuriteServer {
    /// The content of a blob, or None; through the Azure SDK for Python.
    pub fn get_blob(&self, container: &str, name: &str) -> Result<Option<String>, VenvError> {
        let python = python_with("azure-blob", &["azure-storage-blob==12.*"])?;
        let code = format!(
            "import sys\n\
             from azure.storage.blob import BlobServiceClient\n\
             b = BlobServiceClient.from_connection_string({:?}).get_blob_client({container:?}, {name:?})\n\
             sys.stdout.write(b.download_blob().readall().decode() if b.exists() else '\\0')",
            self.connection_string()
        );
        let output = Command::new(python)
            .args(["-c", &code])
            .output()
            .map_err(|source| VenvError::Io {
                context: "read a blob".to_string(),
                source,
            })?;
        if !output.status.success() {
            return Err(VenvError::Unavailable(format!(
                "reading blob {name} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        Ok((text != "\0").then_some(text))
    }
}

impl Drop for AzuriteServer {
    fn drop(&mut self) {
        if let Some((mut child, stdin)) = self.child.take() {
            drop(stdin);
            let _ = child.wait();
        }
    }
}
