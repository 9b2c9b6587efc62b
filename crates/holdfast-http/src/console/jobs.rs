//! What the console's job pages share (`pages/field_service/`): members by the name they go
//! by, a status in words, a checklist typed one item per line.

use crate::problem::ApiResult;
use crate::state::AppState;
use holdfast_core::field_service::jobs::{ChecklistItem, JobStatus};
use holdfast_store::identity::auth::Actor;

/// Members as the board names them: the name they go by, else their email; by user id.
pub async fn member_names(
    state: &AppState,
    actor: &Actor,
) -> ApiResult<Vec<(String, String, String)>> {
    let mut tx = state.db.read(&actor.tenant).await?;
    let members = holdfast_store::access::members::list(&mut tx).await?;
    tx.commit().await?;
    let mut named: Vec<(String, String, String)> = members
        .into_iter()
        .map(|m| {
            let name = m
                .display_name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or(m.email);
            (m.user_id, name, m.role)
        })
        .collect();
    named.sort_by_key(|a| a.1.to_lowercase());
    Ok(named)
}

/// A status as people read it on a page.
pub fn status_label(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Requested => "Requested",
        JobStatus::Scheduled => "Scheduled",
        JobStatus::EnRoute => "On the way",
        JobStatus::InProgress => "In progress",
        JobStatus::Completed => "Completed",
        JobStatus::Cancelled => "Cancelled",
    }
}

/// A checklist typed one item per line (blank lines skipped; each not yet done).
pub fn checklist_of(text: &str) -> Vec<ChecklistItem> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| ChecklistItem {
            text: l.to_owned(),
            done: false,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checklist_is_one_item_per_line() {
        let items = checklist_of("  Shut off water \n\n\r\nReplace valve\r\n");
        let texts: Vec<&str> = items.iter().map(|i| i.text.as_str()).collect();
        assert_eq!(texts, ["Shut off water", "Replace valve"]);
        assert!(items.iter().all(|i| !i.done));
    }
}
