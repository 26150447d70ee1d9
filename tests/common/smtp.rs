//! A small SMTP server on loopback, run in a tokio task, for the notification tests: it speaks
//! enough RFC 5321 for lettre (EHLO, optional AUTH, MAIL, RCPT, DATA with dot-unstuffing, RSET,
//! NOOP, QUIT), keeps what it received, and can be told to fail the way real servers fail
//! (421/451 transient, 550 for one address, 535 for any login, or never greeting at all).

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One message as received.
#[derive(Clone, Debug)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
}

/// How the server behaves.
#[derive(Clone, Debug, Default)]
pub struct Behaviour {
    /// Reply 451 to MAIL FROM (a transient failure).
    pub temp_fail: bool,
    /// Reply 550 to RCPT TO for this address (a permanent failure).
    pub reject_rcpt: Option<String>,
    /// Advertise AUTH and refuse every login with 535.
    pub refuse_auth: bool,
    /// Accept connections but never greet.
    pub silent: bool,
    /// Advertise this one mechanism (`PLAIN` or `LOGIN`) and accept exactly this login.
    pub accept_auth: Option<(&'static str, String, String)>,
}

/// A running server.
#[derive(Clone)]
pub struct SmtpServer {
    pub port: u16,
    pub received: Arc<Mutex<Vec<Received>>>,
    pub behaviour: Arc<Mutex<Behaviour>>,
    /// Every AUTH line the server saw (to prove what the client sent).
    pub auth_lines: Arc<Mutex<Vec<String>>>,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        SmtpServer::start_on(0).await
    }

    /// Starts on a given port (0: any free one).
    pub async fn start_on(port: u16) -> SmtpServer {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind smtp");
        let port = listener.local_addr().expect("addr").port();
        let server = SmtpServer {
            port,
            received: Arc::default(),
            behaviour: Arc::default(),
            auth_lines: Arc::default(),
        };
        let s = server.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = s.session(sock).await;
                });
            }
        });
        server
    }

    pub fn set(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut self.behaviour.lock().expect("lock"));
    }

    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    async fn session(&self, sock: tokio::net::TcpStream) -> std::io::Result<()> {
        let (r, mut w) = sock.into_split();
        let mut r = BufReader::new(r);
        if self.behaviour.lock().expect("lock").silent {
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            return Ok(());
        }
        w.write_all(b"220 localhost test ESMTP\r\n").await?;
        let mut from = String::new();
        let mut to = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if r.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let cmd = line.trim_end().to_string();
            let upper = cmd.to_ascii_uppercase();
            let b = self.behaviour.lock().expect("lock").clone();
            let reply: String = if upper.starts_with("EHLO") {
                if b.refuse_auth {
                    "250-localhost\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n".into()
                } else if let Some((mech, ..)) = &b.accept_auth {
                    format!("250-localhost\r\n250-AUTH {mech}\r\n250 8BITMIME\r\n")
                } else {
                    "250-localhost\r\n250 8BITMIME\r\n".into()
                }
            } else if upper.starts_with("HELO") {
                "250 localhost\r\n".into()
            } else if upper.starts_with("AUTH") {
                self.auth_lines.lock().expect("lock").push(cmd.clone());
                match &b.accept_auth {
                    Some((_, user, pass))
                        if self.login(&cmd, &mut r, &mut w, user, pass).await? =>
                    {
                        "235 2.7.0 authentication succeeded\r\n".into()
                    }
                    _ => "535 5.7.8 authentication failed\r\n".into(),
                }
            } else if upper.starts_with("MAIL FROM:") {
                if b.temp_fail {
                    "451 4.3.0 try again later\r\n".into()
                } else {
                    from = addr(&cmd[10..]);
                    to.clear();
                    "250 OK\r\n".into()
                }
            } else if upper.starts_with("RCPT TO:") {
                let a = addr(&cmd[8..]);
                if b.reject_rcpt.as_deref() == Some(a.as_str()) {
                    "550 5.1.1 no such user\r\n".into()
                } else {
                    to.push(a);
                    "250 OK\r\n".into()
                }
            } else if upper == "DATA" {
                w.write_all(b"354 go ahead\r\n").await?;
                let mut data = Vec::new();
                loop {
                    let mut l = Vec::new();
                    if r.read_until(b'\n', &mut l).await? == 0 {
                        return Ok(());
                    }
                    if l == b".\r\n" {
                        break;
                    }
                    let l = if l.starts_with(b"..") {
                        &l[1..]
                    } else {
                        &l[..]
                    };
                    data.extend_from_slice(l);
                }
                self.received.lock().expect("lock").push(Received {
                    from: from.clone(),
                    to: to.clone(),
                    data,
                });
                "250 OK queued\r\n".into()
            } else if upper == "QUIT" {
                w.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else if upper == "RSET" || upper == "NOOP" {
                "250 OK\r\n".into()
            } else {
                "502 not implemented\r\n".into()
            };
            w.write_all(reply.as_bytes()).await?;
        }
    }
}

impl SmtpServer {
    /// Checks `AUTH PLAIN <b64>` or runs the `AUTH LOGIN` exchange (RFC 4616, the LOGIN draft).
    async fn login(
        &self,
        cmd: &str,
        r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
        w: &mut tokio::net::tcp::OwnedWriteHalf,
        user: &str,
        pass: &str,
    ) -> std::io::Result<bool> {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let decode = |s: &str| b64.decode(s.trim()).unwrap_or_default();
        let words: Vec<&str> = cmd.split_whitespace().collect();
        match words.get(1).map(|m| m.to_ascii_uppercase()).as_deref() {
            Some("PLAIN") => {
                let want = format!("\0{user}\0{pass}");
                Ok(words.get(2).is_some_and(|t| decode(t) == want.as_bytes()))
            }
            Some("LOGIN") => {
                let mut answers = Vec::new();
                for prompt in [&b"334 VXNlcm5hbWU6\r\n"[..], b"334 UGFzc3dvcmQ6\r\n"] {
                    w.write_all(prompt).await?;
                    let mut l = String::new();
                    r.read_line(&mut l).await?;
                    self.auth_lines
                        .lock()
                        .expect("lock")
                        .push(l.trim_end().to_string());
                    answers.push(decode(&l));
                }
                Ok(answers == [user.as_bytes(), pass.as_bytes()])
            }
            _ => Ok(false),
        }
    }
}

fn addr(s: &str) -> String {
    let s = s.trim().trim_start_matches('<');
    s.split('>').next().unwrap_or("").to_string()
}
