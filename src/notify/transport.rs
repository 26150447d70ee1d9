//! Where messages go: SMTP through lettre (STARTTLS, implicit TLS, or plain to a loopback relay;
//! optional authentication) or .eml files for demos. A send either succeeds or says whether it
//! is worth retrying: a 5xx reply (bad address, rejected message) is permanent, everything else
//! (connection refused, 4xx, timeouts, TLS trouble) is transient.

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;

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
    Smtp {
        inner: AsyncSmtpTransport<Tokio1Executor>,
        shown: String,
        timeout: Duration,
    },
    File(AsyncFileTransport<Tokio1Executor>),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::Smtp { shown, .. } => write!(f, "Transport::Smtp({shown})"),
            Transport::File(_) => write!(f, "Transport::File"),
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
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(port)
            .timeout(Some(Duration::from_secs(m.timeout_secs)))
            .tls(match m.security {
                Security::Starttls => Tls::Required(tls()?),
                Security::Tls => Tls::Wrapper(tls()?),
                Security::Plain => Tls::None,
            });
        if let (Some(user), Some(secret)) = (&m.user, &m.password) {
            let password = secret
                .resolve()
                .map_err(|e| anyhow::anyhow!("mail.password: {e}"))?;
            b = b.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_string(),
            ));
        }
        Ok(Transport::Smtp {
            inner: b.build(),
            shown: format!("{host}:{port} {:?}", m.security),
            timeout: Duration::from_secs(m.timeout_secs),
        })
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
