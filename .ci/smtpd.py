"""An SMTP server for indmon's end-to-end mail test, from Debian's python3-aiosmtpd.

STARTTLS is required (with the certificate given), AUTH is required and accepts exactly one
user, and every message is stored in a Maildir that the test reads back.

usage: python3 .ci/smtpd.py HOST PORT CERT KEY MAILDIR USER PASSWORD_FILE
"""
import os
import signal
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword

host, port, cert, key, maildir, user, password_file = sys.argv[1:8]
with open(password_file, encoding="utf-8") as f:
    password = f.read().strip()


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == user
        and auth_data.password.decode() == password
    )
    return AuthResult(success=ok, handled=False)


for sub in ("tmp", "new", "cur"):
    os.makedirs(os.path.join(maildir, sub), exist_ok=True)

context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
controller = Controller(
    Mailbox(maildir),
    hostname=host,
    port=int(port),
    tls_context=context,
    require_starttls=True,
    auth_required=True,
    auth_require_tls=True,
    authenticator=authenticator,
)
controller.start()
print(f"smtpd: listening on {host}:{port} (STARTTLS and AUTH required)", flush=True)
signal.sigwait({signal.SIGTERM, signal.SIGINT})
controller.stop()
