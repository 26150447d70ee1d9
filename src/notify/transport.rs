//! Where messages go: SMTP through lettre (STARTTLS, implicit TLS, or plain to a loopback relay;
//! optional authentication) or .eml files for demos. A send either succeeds or says whether it
//! is worth retrying: a 5xx reply (bad address, rejected message) is permanent, everything else
//! (connection refused, 4xx, timeouts, TLS trouble) is transient.
//!
//! For STARTTLS and plain SMTP the connection is opened here, with `TCP_NODELAY`, and kept for
//! the next message. lettre's own sockets keep Nagle's algorithm on: it writes a message and
//! then its terminating `.` separately, and the small second write waited for the server's
//! delayed ACK (~40 ms a message on Linux). Killed in that pause, the process left the `.` in
//! its socket buffer, which the kernel sent on close: the server took a message that indmon
//! never saw accepted — nearly every crash while sending duplicated a digest (issue 17).

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;
use tokio::sync::Mutex;

use super::config::{MailConfig, Security, TransportKind};

/// Why a send failed, and whether to try again.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("暂时性错误 (transient): {0}")]
    Transient(String),
    #[error("永久性错误 (permanent): {0}")]
    Permanent(String),
}

/// A configured transport. Its `Debug` names the server, never the credentials.
pub enum Transport {
    /// Implicit TLS (port 465), through lettre's pool.
    Smtp {
        inner: AsyncSmtpTransport<Tokio1Executor>,
        shown: String,
        timeout: Duration,
    },
    /// STARTTLS or plain, on a connection of our own (see the module note).
    Direct(Box<Direct>),
    File(AsyncFileTransport<Tokio1Executor>),
}

/// An SMTP server reached over a socket opened here, and the connection kept to it.
pub struct Direct {
    host: String,
    port: u16,
    starttls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    timeout: Duration,
    shown: String,
    conn: Mutex<Option<AsyncSmtpConnection>>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::Smtp { shown, .. } => write!(f, "Transport::Smtp({shown})"),
            Transport::Direct(d) => write!(f, "Transport::Smtp({})", d.shown),
            Transport::File(_) => write!(f, "Transport::File"),
        }
    }
}

/// A lettre error as a send error: 5xx permanent, the rest transient.
fn classify(e: lettre::transport::smtp::Error) -> SendError {
    if e.is_permanent() {
        SendError::Permanent(e.to_string())
    } else {
        SendError::Transient(e.to_string())
    }
}

impl Direct {
    /// Connects (no Nagle), reads the greeting, says EHLO, upgrades with STARTTLS when asked
    /// (refusing a server that does not offer it) and logs in.
    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| {
                SendError::Transient(format!(
                    "无法连接 (cannot connect to) {}:{}: {e}",
                    self.host, self.port
                ))
            })?;
        tcp.set_nodelay(true)
            .map_err(|e| SendError::Transient(format!("TCP_NODELAY: {e}")))?;
        let hello = ClientId::default();
        let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello)
            .await
            .map_err(classify)?;
        if let Some(tls) = &self.starttls {
            if !conn.can_starttls() {
                return Err(SendError::Transient(
                    "服务器不支持 STARTTLS (the server does not offer STARTTLS)".into(),
                ));
            }
            conn.starttls(tls.clone(), &hello).await.map_err(classify)?;
        }
        if let Some(c) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], c)
                .await
                .map_err(classify)?;
        }
        Ok(conn)
    }

    /// Sends on the kept connection (checked with NOOP), or a new one.
    async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<(), SendError> {
        let mut kept = self.conn.lock().await;
        let attempt = async {
            let mut conn = match kept.take() {
                Some(mut c) => {
                    if c.test_connected().await {
                        c
                    } else {
                        c.abort().await;
                        self.connect().await?
                    }
                }
                None => self.connect().await?,
            };
            match conn.send(envelope, message).await {
                Ok(_) => {
                    if !conn.has_broken() {
                        *kept = Some(conn);
                    }
                    Ok(())
                }
                Err(e) => {
                    // A refused message leaves the session usable; anything else does not.
                    if conn.has_broken() {
                        conn.abort().await;
                    } else {
                        *kept = Some(conn);
                    }
                    Err(classify(e))
                }
            }
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(r) => r,
            Err(_) => Err(SendError::Transient(format!(
                "SMTP 会话超时 {}s (timed out)",
                self.timeout.as_secs()
            ))),
        }
    }

    async fn shutdown(&self) {
        if let Some(mut c) = self.conn.lock().await.take() {
            let _ = tokio::time::timeout(self.timeout, c.quit()).await;
        }
    }
}

/// Installs ring as rustls' crypto provider if none is installed yet (both may be in the tree).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Transport {
    /// Builds the transport `[mail]` describes; reads the password and the extra CA now.
    pub fn from_config(m: &MailConfig) -> anyhow::Result<Transport> {
        install_crypto_provider();
        if m.transport == TransportKind::File {
            let dir = m.file_dir.as_ref().ok_or_else(|| {
                anyhow::anyhow!("mail.file_dir 未设置 (file transport needs file_dir)")
            })?;
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("无法创建 {} (cannot create): {e}", dir.display()))?;
            return Ok(Transport::File(AsyncFileTransport::new(dir)));
        }
        let host = m
            .host
            .clone()
            .ok_or_else(|| anyhow::anyhow!("mail.host 未设置 (smtp transport needs host)"))?;
        let port = m.port.unwrap_or(match m.security {
            Security::Starttls => 587,
            Security::Tls => 465,
            Security::Plain => 25,
        });
        let tls = || -> anyhow::Result<TlsParameters> {
            let mut b = TlsParameters::builder(host.clone());
            if let Some(ca) = &m.ca_file {
                let pem = std::fs::read(ca)
                    .map_err(|e| anyhow::anyhow!("mail.ca_file {}: {e}", ca.display()))?;
                b = b.add_root_certificate(Certificate::from_pem(&pem)?);
            }
            Ok(b.build_rustls()?)
        };
        let credentials = match (&m.user, &m.password) {
            (Some(user), Some(secret)) => {
                let password = secret
                    .resolve()
                    .map_err(|e| anyhow::anyhow!("mail.password: {e}"))?;
                Some(Credentials::new(
                    user.clone(),
                    password.expose_secret().to_string(),
                ))
            }
            _ => None,
        };
        let shown = format!("{host}:{port} {:?}", m.security);
        let timeout = Duration::from_secs(m.timeout_secs);
        if m.security != Security::Tls {
            return Ok(Transport::Direct(Box::new(Direct {
                starttls: match m.security {
                    Security::Starttls => Some(tls()?),
                    _ => None,
                },
                host,
                port,
                credentials,
                timeout,
                shown,
                conn: Mutex::new(None),
            })));
        }
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(port)
            .timeout(Some(timeout))
            .tls(Tls::Wrapper(tls()?));
        if let Some(c) = credentials {
            b = b.credentials(c);
        }
        Ok(Transport::Smtp {
            inner: b.build(),
            shown,
            timeout,
        })
    }

    /// Closes pooled SMTP connections (QUIT), for a daemon that stops.
    pub async fn shutdown(&self) {
        match self {
            Transport::Smtp { inner, .. } => inner.shutdown().await,
            Transport::Direct(d) => d.shutdown().await,
            Transport::File(_) => {}
        }
    }

    /// Sends one stored message. The whole conversation is bounded by the timeout, since
    /// lettre's own only bounds the connect.
    pub async fn send(&self, from: &str, to: &str, message: &[u8]) -> Result<(), SendError> {
        let parse = |a: &str| {
            a.parse::<Address>()
                .map_err(|e| SendError::Permanent(format!("地址无效 (bad address) {a}: {e}")))
        };
        let envelope = Envelope::new(Some(parse(from)?), vec![parse(to)?])
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        match self {
            Transport::Direct(d) => d.send(&envelope, message).await,
            Transport::Smtp { inner, timeout, .. } => {
                match tokio::time::timeout(*timeout, inner.send_raw(&envelope, message)).await {
                    Err(_) => Err(SendError::Transient(format!(
                        "SMTP 会话超时 {}s (timed out)",
                        timeout.as_secs()
                    ))),
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
                    Ok(Err(e)) => Err(SendError::Transient(e.to_string())),
                }
            }
            Transport::File(t) => t
                .send_raw(&envelope, message)
                .await
                .map(|_| ())
                .map_err(|e| SendError::Transient(e.to_string())),
        }
    }
}
