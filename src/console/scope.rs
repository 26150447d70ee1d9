//! What a signed-in official may see and change, decided on the server for every request from
//! the configured `[[recipients]]` entry (never from anything the browser sends). It is the
//! digests' own rule ([`crate::notify::plan::in_scope`]), so the console never shows an
//! official more than their mail does.
//!
//! An id outside the scope answers 404, exactly as an id that does not exist: a 403 would tell a
//! district official that another district has a case with that number. Pages only for the city
//! (the city overview) answer 404 to others for the same reason.

use crate::alerts::Alert;
use crate::notify::RecipientConfig;
use crate::notify::config::Role;

/// The signed-in official's scope.
#[derive(Clone, Debug)]
pub struct Scope {
    pub recipient: RecipientConfig,
}

impl Scope {
    /// The scope of recipient `id`, if it is still configured (a recipient removed from the
    /// configuration loses its sessions at the next request).
    pub fn of(recipients: &[RecipientConfig], id: &str) -> Option<Scope> {
        recipients.iter().find(|r| r.id == id).map(|r| Scope {
            recipient: r.clone(),
        })
    }

    /// The recipient id (for audit and logs).
    pub fn id(&self) -> &str {
        &self.recipient.id
    }

    /// City officials see every unit.
    pub fn is_city(&self) -> bool {
        self.recipient.role == Role::City
    }

    /// Whether the official may see (and act on) this alert.
    pub fn sees_alert(&self, a: &Alert) -> bool {
        crate::notify::plan::sees(&self.recipient, a)
    }

    /// Whether the official may see a subject by its unit, other units, code and 包抓领导 —
    /// for the cases and answers that will carry these.
    pub fn sees(
        &self,
        unit_code: &str,
        scope: &[String],
        subject: &str,
        owner: Option<&str>,
    ) -> bool {
        crate::notify::plan::in_scope(&self.recipient, unit_code, scope, subject, owner)
    }
}
