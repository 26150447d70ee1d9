//! An error on one line, each cause said once, for the CLI's last line, the daemon's logs and
//! the job records. `{:#}` joins every cause's message, and sqlx's errors repeat their source's
//! message in their own (`error returned from database: X`, then `X`): a failed migration said
//! its cause three times. Here a cause whose message the one before it already includes is
//! left out.

use std::fmt;

/// Shown with `{}`: the error's message, then each cause's not already said, joined by `: `.
pub struct Causes<'a>(pub &'a anyhow::Error);

impl fmt::Display for Causes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut last = String::new();
        let mut said = false;
        for cause in self.0.chain() {
            let message = cause.to_string();
            if !said || !last.contains(&message) {
                if said {
                    f.write_str(": ")?;
                }
                f.write_str(&message)?;
                said = true;
            }
            last = message;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Causes;

    #[test]
    fn a_cause_repeated_by_the_one_above_it_is_said_once() {
        let e = anyhow::anyhow!("relation \"unit\" already exists")
            .context("error returned from database: relation \"unit\" already exists")
            .context("迁移失败 (migration failed)");
        assert_eq!(
            Causes(&e).to_string(),
            "迁移失败 (migration failed): error returned from database: relation \"unit\" already exists"
        );
    }

    #[test]
    fn distinct_causes_are_all_said_in_order() {
        let e = anyhow::anyhow!("connection refused")
            .context("cannot reach the outbox")
            .context("发件箱读写失败");
        assert_eq!(
            Causes(&e).to_string(),
            "发件箱读写失败: cannot reach the outbox: connection refused"
        );
        assert_eq!(Causes(&e).to_string(), Causes(&e).to_string());
    }

    #[test]
    fn a_cause_is_compared_with_the_one_just_above_it_only() {
        let e = anyhow::anyhow!("timed out")
            .context("pull failed")
            .context("timed out while pulling");
        assert_eq!(
            Causes(&e).to_string(),
            "timed out while pulling: pull failed: timed out"
        );
    }
}
