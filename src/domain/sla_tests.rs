use super::*;
use crate::domain::calendar::Calendar;

const H: i64 = 3_600_000;

fn policy(id: i64, first: i64, next: i64, resolution: i64) -> Policy {
    Policy {
        id,
        name: format!("p{id}"),
        position: id,
        conditions: PolicyConditions::default(),
        first_response_minutes: Some(first),
        next_response_minutes: Some(next),
        resolution_minutes: Some(resolution),
        business_hours: false,
    }
}

fn around_the_clock() -> Schedule {
    Calendar::always().schedule()
}

#[test]
fn conditions_parse_and_cover() {
    let c = PolicyConditions::parse(&serde_json::json!({"priority": "high"})).unwrap();
    assert!(c.covers(Priority::High, Channel::Email, None));
    assert!(!c.covers(Priority::Low, Channel::Email, None));
    let c =
        PolicyConditions::parse(&serde_json::json!({"priority": ["high", "urgent"], "channel": "chat", "team_id": 3}))
            .unwrap();
    assert!(c.covers(Priority::Urgent, Channel::Chat, Some(3)));
    assert!(!c.covers(Priority::Urgent, Channel::Chat, Some(4)));
    for bad in [
        serde_json::json!({"priority": "hot"}),
        serde_json::json!({"colour": "red"}),
        serde_json::json!({"team_id": -1}),
        serde_json::json!([1]),
    ] {
        assert!(PolicyConditions::parse(&bad).is_err(), "{bad}");
    }
    assert!(target("x", Some(0)).is_err());
    assert_eq!(target("x", None).unwrap(), None);
}

#[test]
fn replies_stop_and_messages_start_the_response_clocks() {
    let s = around_the_clock();
    let count = Counting {
        schedule: &s,
        business_hours: false,
    };
    let p = policy(1, 60, 120, 1440);
    let mut c = Clocks::default();
    c.on(Happened::Created { answered: false }, Some(&p), &count, 0, 0);
    assert_eq!(c.first_response.unwrap().at, H);
    assert_eq!(c.resolution.unwrap().at, 24 * H);
    assert_eq!(c.due_at(), Some(H));
    assert_eq!(c.next_check(), Some(48 * 60_000), "the warning at 80% of the hour");
    c.on(Happened::AgentReplied, Some(&p), &count, H / 2, 0);
    assert_eq!(c.first_response, None);
    c.on(Happened::CustomerWrote, Some(&p), &count, H, 0);
    assert_eq!(c.next_response.unwrap().at, 3 * H);
    c.on(Happened::CustomerWrote, Some(&p), &count, 2 * H, 0);
    assert_eq!(
        c.next_response.unwrap().at,
        3 * H,
        "the oldest unanswered message counts"
    );
    c.on(
        Happened::Status {
            from: Status::Open,
            to: Status::Resolved,
        },
        Some(&p),
        &count,
        4 * H,
        0,
    );
    assert_eq!((c.next_response, c.resolution, c.due_at()), (None, None, None));
    c.on(
        Happened::Status {
            from: Status::Resolved,
            to: Status::Open,
        },
        Some(&p),
        &count,
        5 * H,
        0,
    );
    assert_eq!(
        c.resolution.unwrap().at,
        29 * H,
        "reopening starts the resolution clock afresh"
    );
}

#[test]
fn pending_pauses_and_gives_the_time_back() {
    let s = around_the_clock();
    let count = Counting {
        schedule: &s,
        business_hours: false,
    };
    let p = policy(1, 60, 120, 600);
    let mut c = Clocks::default();
    c.on(Happened::Created { answered: false }, Some(&p), &count, 0, 0);
    c.on(
        Happened::Status {
            from: Status::Open,
            to: Status::Pending,
        },
        Some(&p),
        &count,
        H / 2,
        0,
    );
    assert_eq!(
        (c.due_at(), c.next_check()),
        (None, None),
        "nothing is due while paused"
    );
    assert!(c.check(100 * H).is_empty(), "no breach while paused");
    c.on(
        Happened::Status {
            from: Status::Pending,
            to: Status::Open,
        },
        Some(&p),
        &count,
        3 * H,
        0,
    );
    assert_eq!(
        c.first_response.unwrap().at,
        H + 5 * H / 2,
        "2.5 hours paused are added"
    );
    assert_eq!(c.resolution.unwrap().at, 10 * H + 5 * H / 2);
}

#[test]
fn business_hours_pause_counts_only_open_time() {
    // Mon–Fri 09:00–18:00 UTC; 2026-11-30 is a Monday.
    let cal: Calendar = serde_json::from_value(serde_json::json!({
        "time_zone": "UTC",
        "week": {"mon": ["09:00-18:00"], "tue": ["09:00-18:00"], "wed": ["09:00-18:00"], "thu": ["09:00-18:00"], "fri": ["09:00-18:00"]}
    }))
    .unwrap();
    let s = cal.schedule();
    let count = Counting {
        schedule: &s,
        business_hours: true,
    };
    let monday = 1_795_996_800_000; // 2026-11-30T00:00:00Z
    let mut p = policy(1, 120, 60, 60 * 9);
    p.business_hours = true;
    let mut c = Clocks::default();
    // Friday 17:00: two business hours end Monday 10:00.
    let friday_17 = monday - 3 * 24 * H + 17 * H;
    c.on(
        Happened::Created { answered: false },
        Some(&p),
        &count,
        friday_17,
        friday_17,
    );
    assert_eq!(c.first_response.unwrap().at, monday + 10 * H);
    // Pending from Friday 17:30 to Monday 09:30: only the open half hours count.
    c.on(
        Happened::Status {
            from: Status::Open,
            to: Status::Pending,
        },
        Some(&p),
        &count,
        friday_17 + H / 2,
        friday_17,
    );
    c.on(
        Happened::Status {
            from: Status::Pending,
            to: Status::Open,
        },
        Some(&p),
        &count,
        monday + 9 * H + H / 2,
        friday_17,
    );
    assert_eq!(c.first_response.unwrap().at, monday + 11 * H);
}

#[test]
fn warnings_then_breaches_once_each() {
    let s = around_the_clock();
    let count = Counting {
        schedule: &s,
        business_hours: false,
    };
    let p = policy(1, 60, 120, 600);
    let mut c = Clocks::default();
    c.on(Happened::Created { answered: false }, Some(&p), &count, 0, 0);
    assert!(c.check(10 * 60_000).is_empty());
    assert_eq!(c.check(50 * 60_000), vec![(Target::FirstResponse, false, H)]);
    assert!(c.check(55 * 60_000).is_empty(), "warned once");
    assert_eq!(c.next_check(), Some(H));
    assert_eq!(c.check(H), vec![(Target::FirstResponse, true, H)]);
    assert!(c.check(2 * H).is_empty(), "breached once");
    assert_eq!(targets_to_text(&c.breached), "first_response");
    assert_eq!(
        targets_from_text("first_response,bogus,resolution"),
        vec![Target::FirstResponse, Target::Resolution]
    );
}

#[test]
fn a_new_priority_brings_a_new_policy() {
    let s = around_the_clock();
    let count = Counting {
        schedule: &s,
        business_hours: false,
    };
    let mut c = Clocks::default();
    c.on(Happened::Created { answered: false }, None, &count, 0, 0);
    assert_eq!(c.due_at(), None, "no policy, no clocks");
    let urgent = policy(7, 30, 60, 240);
    c.on(
        Happened::Reclassified {
            answered: false,
            resolved: false,
        },
        Some(&urgent),
        &count,
        H / 4,
        0,
    );
    assert_eq!(c.policy_id, Some(7));
    assert_eq!(c.first_response.unwrap().at, H / 2, "counted from the ticket's arrival");
    assert_eq!(c.resolution.unwrap().at, 4 * H);
    let policies = vec![policy(1, 1, 1, 1), urgent.clone()];
    assert_eq!(
        select(&policies, Priority::Low, Channel::Chat, None).map(|p| p.id),
        Some(1)
    );
}
