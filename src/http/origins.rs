//! The widget on a site it may not serve: refused where it asks (its
//! configuration, its socket), and counted so the admin sees the site and
//! can allow it with a click (Admin → Widget).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::app::AppState;

/// Refusals of one site are written at most this often per node; between
/// writes they are counted in memory. A busy shop that forgot to allow its
/// own site would otherwise turn every page view into a write.
const WRITE_EVERY: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct RefusedTally(Mutex<HashMap<(i64, String), (i64, Instant)>>);

impl RefusedTally {
    /// Counts one refusal; the number to write now, when one is due.
    fn note(&self, workspace_id: i64, origin: &str) -> Option<i64> {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() > 10_000 {
            m.retain(|_, (_, at)| at.elapsed() < Duration::from_secs(60));
        }
        let now = Instant::now();
        let e = m
            .entry((workspace_id, origin.to_string()))
            .or_insert((0, now.checked_sub(WRITE_EVERY).unwrap_or(now)));
        e.0 += 1;
        if e.1.elapsed() < WRITE_EVERY {
            return None;
        }
        let n = e.0;
        *e = (0, now);
        Some(n)
    }
}

/// Notes that the widget was refused on `origin` (as the browser sent it).
pub async fn refused(s: &AppState, workspace_id: i64, origin: Option<&str>) {
    // Browsers send `scheme://host[:port]` or `null`; anything else is kept
    // only in its first 200 characters.
    let origin: String = origin.unwrap_or("(no origin)").chars().take(200).collect();
    metrics::counter!("storedesk_widget_refused_total").increment(1);
    if let Some(n) = s.refused.note(workspace_id, &origin) {
        if let Err(e) = s.store.record_refused_origin(workspace_id, &origin, n).await {
            tracing::warn!(error = %e, "refused site not recorded");
        }
    }
}

/// What the browser console of the refused page says.
pub fn message(origin: Option<&str>) -> String {
    format!(
        "this site ({}) is not one of the workspace's allowed sites, so the chat is not shown here; an admin can allow it under Admin → Widget",
        origin.unwrap_or("no origin")
    )
}
