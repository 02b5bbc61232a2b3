//! A ticket's estimate and time on the client's private page (the portal
//! opens each ticket there): what it shows, and the client's answer.

use crate::domain::worklog::{hm, EstimateState};
use crate::domain::{optional_text, required_text};
use crate::store::worklog::Estimate;

/// The longest question a client may ask about an estimate.
pub const QUESTION_MAX: usize = 5000;

/// The estimate box's texts and state for the template; None without an estimate.
pub fn view(lang: &str, e: &Estimate) -> Option<minijinja::Value> {
    let minutes = e.estimate_minutes?;
    let t = |k: &str| crate::i18n::text(lang, &format!("portal-{k}"), &[]);
    let state = e.estimate_state.unwrap_or(EstimateState::Proposed);
    Some(minijinja::context! {
        title => t("estimate"), estimate => hm(minutes), spent_label => t("time-spent"), spent => hm(e.total_minutes),
        state => state.as_str(), state_text => t(&format!("estimate-{}", state.as_str())),
        urgent => e.urgent.then(|| t("urgent")),
        open => state != EstimateState::Approved,
        approve => t("approve"), question_label => t("question"), ask => t("ask"),
    })
}

/// The client's answer from the form: None approves, Some asks.
pub fn answer(action: &str, question: &str) -> Result<Option<String>, String> {
    match action {
        "approve" => {
            optional_text("question", question, QUESTION_MAX).map_err(|e| e.to_string())?;
            Ok(None)
        }
        "question" => required_text("question", question, QUESTION_MAX)
            .map(Some)
            .map_err(|e| e.to_string()),
        _ => Err("unknown answer".into()),
    }
}
