use super::*;

const H: i64 = 3_600_000;
/// 2026-11-30 00:00 UTC, a Monday.
const MONDAY: i64 = 1_795_996_800_000;

fn calendar(_: i64, _: i64) -> i64 {
    0
}

fn created(at: i64) -> TicketFacts {
    let mut f = TicketFacts::default();
    f.apply(
        Fact::Created {
            at,
            channel: "chat".into(),
            team: None,
            labels: vec![],
        },
        &calendar,
    );
    f
}

fn near(got: Option<i64>, want: i64) {
    let got = got.unwrap();
    assert!(
        (got - want).abs() as f64 <= want as f64 * crate::domain::digest::RELATIVE_ERROR,
        "{got} vs {want}"
    );
}

fn sum(shares: &BTreeMap<Slot, Totals>, dim: Dim, key: &str) -> Totals {
    let mut t = Totals::default();
    for ((d, k, _), v) in shares {
        if *d == dim && k == key {
            t.merge(v, 1);
        }
    }
    t
}

#[test]
fn first_and_next_responses_are_measured_from_the_customers_wait() {
    let mut f = created(MONDAY);
    f.apply(Fact::CustomerWrote { at: MONDAY, message: 1 }, &calendar);
    f.apply(
        Fact::CustomerWrote {
            at: MONDAY + 1000,
            message: 2,
        },
        &calendar,
    );
    f.apply(
        Fact::AgentReplied {
            at: MONDAY + 90_000,
            by: 7,
            message: 3,
        },
        &calendar,
    );
    f.apply(
        Fact::AgentReplied {
            at: MONDAY + 95_000,
            by: 7,
            message: 4,
        },
        &calendar,
    );
    f.apply(
        Fact::CustomerWrote {
            at: MONDAY + H,
            message: 5,
        },
        &calendar,
    );
    f.apply(
        Fact::AgentReplied {
            at: MONDAY + H + 30_000,
            by: 8,
            message: 6,
        },
        &calendar,
    );
    // Read again from the tables: already counted.
    f.apply(
        Fact::AgentReplied {
            at: MONDAY + H + 30_000,
            by: 8,
            message: 6,
        },
        &calendar,
    );
    let s = f.shares(&LocalDays::new("UTC"));
    let all = sum(&s, Dim::All, "");
    assert_eq!(all.created, 1);
    assert_eq!(all.replies, 3);
    near(all.first_response.quantile(0.5), 90);
    assert_eq!(all.next_response.count(), 1);
    assert_eq!(all.next_response.quantile(0.5), Some(30));
    assert_eq!(sum(&s, Dim::Agent, "7").first_response.count(), 1);
    assert_eq!(sum(&s, Dim::Agent, "8").next_response.count(), 1);
    assert_eq!(sum(&s, Dim::Agent, "8").replies, 1);
}

#[test]
fn a_label_set_later_moves_the_whole_ticket() {
    let mut f = created(MONDAY);
    f.apply(Fact::CustomerWrote { at: MONDAY, message: 1 }, &calendar);
    f.apply(
        Fact::AgentReplied {
            at: MONDAY + 60_000,
            by: 7,
            message: 2,
        },
        &calendar,
    );
    f.apply(
        Fact::Done {
            at: MONDAY + H,
            done: true,
        },
        &calendar,
    );
    f.apply(
        Fact::Done {
            at: MONDAY + H,
            done: true,
        },
        &calendar,
    );
    let days = LocalDays::new("UTC");
    let before = f.shares(&days);
    f.apply(Fact::Labels(vec!["refund".into()]), &calendar);
    f.apply(Fact::Kind(Some("bug".into())), &calendar);
    let after = f.shares(&days);
    let mut totals = before.clone();
    move_share(&mut totals, &before, &after);
    totals.retain(|_, t| !t.is_zero());
    assert_eq!(totals, after);
    let refund = sum(&after, Dim::Label, "refund");
    assert_eq!((refund.created, refund.resolved), (1, 1));
    near(refund.resolution.quantile(0.5), 3600);
    assert_eq!(sum(&after, Dim::Kind, "bug").first_response.count(), 1);
}

#[test]
fn reopen_and_resolve_again_counts_both() {
    let mut f = created(MONDAY);
    f.apply(
        Fact::Done {
            at: MONDAY + H,
            done: true,
        },
        &calendar,
    );
    f.apply(
        Fact::Done {
            at: MONDAY + 2 * H,
            done: false,
        },
        &calendar,
    );
    f.apply(
        Fact::Done {
            at: MONDAY + 3 * H,
            done: true,
        },
        &calendar,
    );
    let all = sum(&f.shares(&LocalDays::new("UTC")), Dim::All, "");
    assert_eq!((all.resolved, all.reopened), (2, 1));
    near(all.resolution.quantile(1.0), 3 * 3600);
}

#[test]
fn days_and_hours_are_the_workspaces_own() {
    // 20:40 UTC on Monday is 00:10 on Tuesday in Tehran (UTC+3:30).
    let at = MONDAY + 20 * H + 40 * 60_000;
    let f = created(at);
    let utc = f.shares(&LocalDays::new("UTC"));
    let tehran = f.shares(&LocalDays::new("Asia/Tehran"));
    let day = |s: &BTreeMap<Slot, Totals>| s.keys().find(|k| k.0 == Dim::All).unwrap().2;
    assert_eq!(day(&tehran), day(&utc) + 1);
    let hour = |s: &BTreeMap<Slot, Totals>| s.keys().find(|k| k.0 == Dim::Hour).unwrap().1.clone();
    assert_eq!(hour(&utc), "20");
    assert_eq!(hour(&tehran), "24");
}

#[test]
fn csat_goes_to_the_agent_who_had_the_ticket() {
    let mut f = created(MONDAY);
    f.apply(Fact::Assignee(Some(4)), &calendar);
    f.apply(
        Fact::Csat(Rating {
            at: MONDAY + H,
            score: 5,
            agent: Some(9),
        }),
        &calendar,
    );
    let s = f.shares(&LocalDays::new("UTC"));
    assert_eq!(sum(&s, Dim::Agent, "9").csat_good, 1);
    assert_eq!(sum(&s, Dim::Agent, "4").created, 1);
    // Changed by the customer: replaces, not adds.
    f.apply(
        Fact::Csat(Rating {
            at: MONDAY + H,
            score: 2,
            agent: Some(9),
        }),
        &calendar,
    );
    let all = sum(&f.shares(&LocalDays::new("UTC")), Dim::All, "");
    assert_eq!((all.csat_count, all.csat_sum, all.csat_good), (1, 2, 0));
}

#[test]
fn settings_are_checked() {
    let s = Settings {
        nps_every_days: 0,
        ..Settings::default()
    };
    assert!(s.validate().is_err());
    assert_eq!(Industry::Ecommerce.benchmark(), (113, 86.06));
    let parsed: Result<Settings, _> = serde_json::from_str(r#"{"industry":"space"}"#);
    assert!(parsed.is_err());
}

#[test]
fn a_merged_ticket_is_no_conversation_of_its_own() {
    let mut f = created(MONDAY);
    f.apply(Fact::CustomerWrote { at: MONDAY, message: 1 }, &calendar);
    f.apply(
        Fact::AgentReplied {
            at: MONDAY + 60_000,
            by: 7,
            message: 2,
        },
        &calendar,
    );
    f.apply(
        Fact::Done {
            at: MONDAY + H,
            done: true,
        },
        &calendar,
    );
    f.apply(
        Fact::Done {
            at: MONDAY + 2 * H,
            done: false,
        },
        &calendar,
    );
    f.apply(Fact::Merged, &calendar);
    let all = sum(&f.shares(&LocalDays::new("UTC")), Dim::All, "");
    assert_eq!((all.created, all.resolved, all.reopened), (0, 0, 0));
    assert_eq!(all.replies, 1, "the agent's reply was work, and counts");
    assert!(f.shares(&LocalDays::new("UTC")).keys().all(|(d, _, _)| *d != Dim::Hour));
    // Kept as it was saved.
    let back: TicketFacts = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
    assert_eq!(back, f);
    assert!(!serde_json::to_string(&created(MONDAY)).unwrap().contains("mg"));
}
