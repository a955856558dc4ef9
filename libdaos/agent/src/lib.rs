//! `daos_agent`: the per-node helper through which client programs find the system.
//!
//! Clients connect to `daos_agent.sock` in the agent's runtime directory and ask for the
//! attach info (provider and engine addresses) and for pools by label. The agent asks
//! `daos_server` over gRPC and caches the attach info briefly, as DAOS's agent does.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

use daos_control::agent::{decode_head, encode_reply, METHOD_GET_ATTACH_INFO, METHOD_POOL_FIND};
use daos_control::mgmt::mgmt_svc_client::MgmtSvcClient;
use daos_control::mgmt::{GetAttachInfoReq, GetAttachInfoResp, PoolFindReq};
use daos_types::{Der, Error, Result};
use prost::Message;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Mutex;

/// How long attach info is reused before asking the server again.
const CACHE_TTL: Duration = Duration::from_secs(5);

/// A running agent's settings.
#[derive(Clone, Debug)]
pub struct AgentSettings {
    /// System name.
    pub system: String,
    /// Servers to ask, as `http://host:port`.
    pub access_points: Vec<String>,
    /// Directory for `daos_agent.sock`.
    pub runtime_dir: PathBuf,
}

struct State {
    settings: AgentSettings,
    cache: Mutex<Option<(Instant, GetAttachInfoResp)>>,
}

/// Maps a gRPC status from `daos_server` to a DER code: the server puts the code in the
/// `daos-status` metadata.
pub fn status_der(status: &tonic::Status) -> Der {
    status
        .metadata()
        .get("daos-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .and_then(|rc| Der::from_value(-rc))
        .unwrap_or(match status.code() {
            tonic::Code::Unavailable => Der::Unreach,
            tonic::Code::NotFound => Der::Nonexist,
            tonic::Code::AlreadyExists => Der::Exist,
            tonic::Code::InvalidArgument => Der::Inval,
            tonic::Code::DeadlineExceeded => Der::Timedout,
            _ => Der::Misc,
        })
}

/// Converts a gRPC failure into a DAOS error.
pub fn status_error(status: tonic::Status) -> Error {
    Error::new(status_der(&status), status.message().to_string())
}

async fn connect_any(access_points: &[String]) -> Result<MgmtSvcClient<tonic::transport::Channel>> {
    let mut last = Error::new(Der::Unreach, "no access points configured");
    for ap in access_points {
        match MgmtSvcClient::connect(ap.clone()).await {
            Ok(client) => return Ok(client),
            Err(err) => {
                last = Error::new(
                    Der::Unreach,
                    format!("cannot reach daos_server at {ap}: {err}"),
                )
            }
        }
    }
    Err(last)
}

impl State {
    async fn attach_info(&self) -> Result<GetAttachInfoResp> {
        let mut cache = self.cache.lock().await;
        if let Some((at, info)) = cache.as_ref() {
            if at.elapsed() < CACHE_TTL {
                return Ok(info.clone());
            }
        }
        let mut client = connect_any(&self.settings.access_points).await?;
        let info = client
            .get_attach_info(GetAttachInfoReq {
                system: self.settings.system.clone(),
            })
            .await
            .map_err(status_error)?
            .into_inner();
        *cache = Some((Instant::now(), info.clone()));
        Ok(info)
    }

    async fn serve_one(&self, method: u32, body: &[u8]) -> Result<Vec<u8>> {
        match method {
            METHOD_GET_ATTACH_INFO => {
                let req = GetAttachInfoReq::decode(body)
                    .map_err(|e| Error::new(Der::Proto, e.to_string()))?;
                if !req.system.is_empty() && req.system != self.settings.system {
                    return Err(Error::new(
                        Der::Inval,
                        format!(
                            "this agent serves system {:?}, not {:?}",
                            self.settings.system, req.system
                        ),
                    ));
                }
                Ok(self.attach_info().await?.encode_to_vec())
            }
            METHOD_POOL_FIND => {
                let req =
                    PoolFindReq::decode(body).map_err(|e| Error::new(Der::Proto, e.to_string()))?;
                let mut client = connect_any(&self.settings.access_points).await?;
                Ok(client
                    .pool_find(req)
                    .await
                    .map_err(status_error)?
                    .into_inner()
                    .encode_to_vec())
            }
            other => Err(Error::new(
                Der::Nosys,
                format!("unknown agent method {other}"),
            )),
        }
    }
}

async fn serve_connection(state: Arc<State>, mut stream: UnixStream) {
    loop {
        let mut head = [0u8; 8];
        if stream.read_exact(&mut head).await.is_err() {
            return;
        }
        let (method, len) = match decode_head(head) {
            Ok(head) => head,
            Err(err) => {
                let _ = stream
                    .write_all(&encode_reply(err.rc(), err.to_string().as_bytes()))
                    .await;
                return;
            }
        };
        let mut body = vec![0u8; len];
        if stream.read_exact(&mut body).await.is_err() {
            return;
        }
        let reply = match state.serve_one(method, &body).await {
            Ok(bytes) => encode_reply(0, &bytes),
            Err(err) => encode_reply(err.rc(), err.to_string().as_bytes()),
        };
        if stream.write_all(&reply).await.is_err() {
            return;
        }
    }
}

/// The socket path an agent with this runtime directory listens on.
pub fn socket_path(runtime_dir: &Path) -> PathBuf {
    runtime_dir.join(daos_control::paths::AGENT_SOCKET)
}

/// Serves clients until the future is dropped.
///
/// Errors: `-DER_BUSY` if another agent is already serving the socket; I/O errors creating it.
pub async fn serve(settings: AgentSettings) -> Result<()> {
    std::fs::create_dir_all(&settings.runtime_dir)
        .map_err(|e| Error::from(e).with_context(settings.runtime_dir.display()))?;
    let path = socket_path(&settings.runtime_dir);
    if path.exists() {
        if UnixStream::connect(&path).await.is_ok() {
            return Err(Error::new(
                Der::Busy,
                format!("another daos_agent serves {}", path.display()),
            ));
        }
        std::fs::remove_file(&path).map_err(|e| Error::from(e).with_context(path.display()))?;
    }
    let listener =
        UnixListener::bind(&path).map_err(|e| Error::from(e).with_context(path.display()))?;
    tracing::info!(
        "daos_agent serving {} for system {}",
        path.display(),
        settings.system
    );
    let state = Arc::new(State {
        settings,
        cache: Mutex::new(None),
    });
    loop {
        let (stream, _) = listener.accept().await.map_err(Error::from)?;
        tokio::spawn(serve_connection(state.clone(), stream));
    }
}
