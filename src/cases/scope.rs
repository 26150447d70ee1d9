//! What an actor may do with a case, decided from the configuration on the server for every
//! read and write: an id changed in a URL or a form never reaches another unit's case.

use super::{Actor, Case};
use crate::notify::{RecipientConfig, Role};

/// What an actor may do with one case.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Access {
    /// See the case, its history and answers.
    pub see: bool,
    /// Answer it and request 销号: its owner only.
    pub answer: bool,
    /// Approve 销号 or return it: city officials only.
    pub decide: bool,
}

/// The access of `actor` to `case`. City officials see every case and decide; a case's owner
/// answers it; district and zone officials see the cases counted in their units (a zone's
/// officials see its cases but do not own them unless they are the owner); a 包抓领导 sees the
/// cases of the enterprises and projects they answer for. Operators at the command line see
/// everything and change nothing. A 反馈表 inbox answers the cases counted in its unit (the
/// bureau dropped the file there for that unit).
pub fn access(recipients: &[RecipientConfig], actor: &Actor, case: &Case) -> Access {
    let id = match actor {
        Actor::Operator(_) | Actor::System => {
            return Access {
                see: true,
                ..Access::default()
            };
        }
        Actor::Inbox { unit, .. } => {
            let ours = case.scope.iter().any(|u| u == unit);
            return Access {
                see: ours,
                answer: ours,
                decide: false,
            };
        }
        Actor::Recipient(id) => id,
    };
    let Some(r) = recipients.iter().find(|r| &r.id == id) else {
        return Access::default();
    };
    let owns = case.owner.as_deref() == Some(r.id.as_str());
    let city = r.role == Role::City;
    let in_units = case.scope.iter().any(|u| r.units.contains(u));
    let their_enterprise = r.enterprises.contains(&case.subject);
    Access {
        see: city || owns || in_units || their_enterprise,
        answer: owns,
        decide: city,
    }
}

/// What a recipient's list covers, for the query that reads it.
pub(crate) enum ListScope {
    Everything,
    /// Cases owned by `owner`, counted in one of `units`, or about one of `subjects`.
    Within {
        owner: String,
        units: Vec<String>,
        subjects: Vec<String>,
    },
    Nothing,
}

pub(crate) fn list_scope(recipients: &[RecipientConfig], actor: &Actor) -> ListScope {
    match actor {
        Actor::Operator(_) | Actor::System => ListScope::Everything,
        Actor::Inbox { unit, .. } => ListScope::Within {
            owner: String::new(),
            units: vec![unit.clone()],
            subjects: Vec::new(),
        },
        Actor::Recipient(id) => match recipients.iter().find(|r| &r.id == id) {
            None => ListScope::Nothing,
            Some(r) if r.role == Role::City => ListScope::Everything,
            Some(r) => ListScope::Within {
                owner: r.id.clone(),
                units: r.units.clone(),
                subjects: r.enterprises.clone(),
            },
        },
    }
}
