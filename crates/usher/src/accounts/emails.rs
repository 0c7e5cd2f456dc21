//! The re-check of stored emails against today's normalisation
//! ([`Email::parse`]), run at start-up after the schema migrations and by
//! `usher migrate`; `usher account collisions` reports without writing.
//!
//! Accounts created before emails were normalised this way may hold another
//! spelling of an address (`ann@ｅxample.com`), or one that is now refused
//! (`аnn@example.com`, with a Cyrillic `а`). Sign-in looks addresses up by
//! their normal form, so such an account is found only once its email is
//! rewritten. An email is rewritten when its normal form collides with
//! nothing: no other account holds it or would also be rewritten to it.
//! Otherwise nothing is merged and nothing deleted: every account involved
//! is reported (a warning per collision, naming the account ids) for the
//! operator to settle. Idempotent: a second run rewrites nothing and reports
//! the same collisions.

use std::collections::BTreeMap;

use crate::domain::{AccountId, Email, InvalidEmail};
use crate::store::{AccountStore, StoreError, StoredEmail};

/// One account's email, rewritten to its normal form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrite {
    pub account: AccountId,
    pub from: Email,
    pub to: Email,
}

/// Accounts whose emails are one address once normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    /// The address they share.
    pub normal: Email,
    /// The account stored with exactly that address, if one is: it is the
    /// one sign-in finds.
    pub holder: Option<AccountId>,
    /// The accounts stored under other spellings of it, oldest first.
    pub others: Vec<(AccountId, Email)>,
}

/// An account whose stored email today's rules refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub account: AccountId,
    pub email: Email,
    pub why: InvalidEmail,
}

/// What a re-check did (or, as a dry run, would do) and what it left.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmailReport {
    pub rewritten: Vec<Rewrite>,
    pub collisions: Vec<Collision>,
    pub refused: Vec<Refused>,
}

impl EmailReport {
    /// Whether anything needs the operator.
    pub fn needs_attention(&self) -> bool {
        !self.collisions.is_empty() || !self.refused.is_empty()
    }
}

/// Rewrite, or only report what would be rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Rewrite,
    DryRun,
}

/// Re-checks every stored email that may not be in normal form.
pub async fn recheck(store: &dyn AccountStore, mode: Mode) -> Result<EmailReport, StoreError> {
    let sorted = sort(store.emails_to_recheck().await?);
    let mut report = EmailReport {
        refused: sorted.refused,
        ..EmailReport::default()
    };
    for (normal, group) in sorted.groups {
        // The holder may be an address that needed no re-check (plain ASCII).
        let holder = match group.holder {
            Some(holder) => Some(holder),
            None => store.account_by_email(&normal).await?.map(|a| a.id),
        };
        let mut others = group.others;
        if holder.is_some() || others.len() != 1 {
            report.collisions.push(Collision {
                normal,
                holder,
                others,
            });
            continue;
        }
        let (account, from) = others.remove(0);
        let rewritten = match mode {
            Mode::DryRun => true,
            // False: changed meanwhile (another node's re-check).
            Mode::Rewrite => match store.rewrite_email(account, &from, &normal).await {
                Ok(done) => done,
                // Someone signed up with the normal form meanwhile.
                Err(StoreError::Conflict) => {
                    let holder = store.account_by_email(&normal).await?.map(|a| a.id);
                    report.collisions.push(Collision {
                        normal,
                        holder,
                        others: vec![(account, from)],
                    });
                    continue;
                }
                Err(e) => return Err(e),
            },
        };
        if rewritten {
            report.rewritten.push(Rewrite {
                account,
                from,
                to: normal,
            });
        }
    }
    Ok(report)
}

/// Re-checks at start-up: rewrites, and logs what it did and a warning for
/// every collision and refused address (account ids only: addresses are
/// personal data, and `usher account collisions` shows them to the operator).
pub async fn recheck_at_start_up(store: &dyn AccountStore) -> Result<EmailReport, StoreError> {
    let report = recheck(store, Mode::Rewrite).await?;
    if !report.rewritten.is_empty() {
        tracing::info!(
            accounts = report.rewritten.len(),
            "rewrote stored emails to their normal form"
        );
    }
    for collision in &report.collisions {
        let others: Vec<String> = collision
            .others
            .iter()
            .map(|(id, _)| id.to_string())
            .collect();
        tracing::warn!(
            holder = collision.holder.map(|id| id.to_string()),
            others = ?others,
            "accounts whose emails are one address once normalised: left as they are (see `usher account collisions`)"
        );
    }
    for refused in &report.refused {
        tracing::warn!(
            account = %refused.account,
            why = %refused.why,
            "an account's stored email is refused by today's rules: left as it is (see `usher account collisions`)"
        );
    }
    Ok(report)
}

/// The stored emails that may need a rewrite, by normal form.
#[derive(Debug, Default)]
struct Sorted {
    groups: BTreeMap<Email, Group>,
    refused: Vec<Refused>,
}

/// The stored emails with one normal form.
#[derive(Debug, Default)]
struct Group {
    /// The account stored with the normal form itself.
    holder: Option<AccountId>,
    /// The accounts stored with another spelling, in the order given.
    others: Vec<(AccountId, Email)>,
}

/// Normalises each stored email and groups them; normal forms no other
/// spelling maps to need nothing and are left out.
fn sort(stored: Vec<StoredEmail>) -> Sorted {
    let mut sorted = Sorted::default();
    for StoredEmail { account, email } in stored {
        match Email::parse(email.as_str()) {
            Err(why) => sorted.refused.push(Refused {
                account,
                email,
                why,
            }),
            Ok(normal) if normal == email => {
                sorted.groups.entry(normal).or_default().holder = Some(account);
            }
            Ok(normal) => sorted
                .groups
                .entry(normal)
                .or_default()
                .others
                .push((account, email)),
        }
    }
    sorted.groups.retain(|_, group| !group.others.is_empty());
    sorted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(id: AccountId, email: &str) -> StoredEmail {
        StoredEmail {
            account: id,
            email: Email::from_stored(email.to_owned()),
        }
    }

    #[test]
    fn stored_emails_are_grouped_by_their_normal_form() {
        let [a, b, c, d, e] = [(); 5].map(|_| AccountId::new());
        let sorted = sort(vec![
            stored(a, "bob@xn--exmple-cua.com"),
            stored(b, "bob@exämple.com"),
            stored(c, "аnn@example.com"),
            stored(d, "zoë@example.com"),
            stored(e, "ZOË@example.com"),
        ]);
        assert_eq!(sorted.refused.len(), 1);
        assert_eq!(sorted.refused[0].account, c);
        let bob = &sorted.groups[&Email::parse("bob@exämple.com").unwrap()];
        assert_eq!(bob.holder, Some(a));
        assert_eq!(
            bob.others,
            [(b, Email::from_stored("bob@exämple.com".into()))]
        );
        // zoë@example.com is its own normal form: it holds what ZOË maps to.
        let zoe = &sorted.groups[&Email::parse("zoë@example.com").unwrap()];
        assert_eq!((zoe.holder, zoe.others.len()), (Some(d), 1));
        assert_eq!(sorted.groups.len(), 2);
    }
}
