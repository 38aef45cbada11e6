//! `loyalty member ID --ledger DB [--json]`: what a designer checks about
//! one member.

use std::path::Path;
use std::process::ExitCode;

use serde_json::{Value, json};

use crate::engine::{MemberIndex, summary};
use crate::ledger::Ledger;

const RECENT_ENTRIES: usize = 20;

pub fn run(id: &str, ledger_path: &Path, as_json: bool) -> Result<ExitCode, String> {
    // (A PostgreSQL address is refused by the opening, which says why.)
    let address = crate::ledger::postgres::is_address(&ledger_path.to_string_lossy());
    if !address && !ledger_path.exists() {
        return Err(format!("no ledger at {}", ledger_path.display()));
    }
    let mut ledger = Ledger::open_to_read(ledger_path).map_err(|e| e.to_string())?;
    let source = ledger
        .meta("program_source")
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "ledger {} has no program yet: `loyalty run` it first",
                ledger_path.display()
            )
        })?;
    let program = crate::load(&source)
        .map_err(|_| "the program stored in the ledger does not compile".to_string())?;
    let engine = ledger.load(&program).map_err(|e| e.to_string())?;
    let Some(index) = engine.member_index(id) else {
        let names: Vec<&str> = engine.members().iter().map(|m| m.id.as_str()).collect();
        let hint = crate::diagnostic::did_you_mean(id, names)
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        eprintln!("error: no member `{id}` in {}{hint}", ledger_path.display());
        return Ok(ExitCode::from(1));
    };
    let state = summary(&program, engine.member_at(index), engine.clock());
    let entries = recent_entries(&ledger, &program, index)?;
    if as_json {
        let mut state = state;
        state["recent_entries"] = Value::Array(entries);
        println!(
            "{}",
            serde_json::to_string_pretty(&state).map_err(|e| e.to_string())?
        );
    } else {
        print!("{}", human(&state, &entries));
    }
    Ok(ExitCode::SUCCESS)
}

fn recent_entries(
    ledger: &Ledger,
    program: &crate::program::Program,
    member: MemberIndex,
) -> Result<Vec<Value>, String> {
    let mut entries: Vec<Value> = ledger
        .recent_entries(member, RECENT_ENTRIES)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|entry| {
            json!({
                "at": entry.at,
                "kind": entry.kind,
                "points": entry.points,
                "reward_money_cents": entry.money,
                "reason": entry.reason(program),
            })
        })
        .collect();
    entries.reverse();
    Ok(entries)
}

fn count(n: i64) -> String {
    crate::decimal::count_text(n)
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn human(s: &Value, entries: &[Value]) -> String {
    let mut out = String::new();
    let mut line = |l: String| {
        out.push_str(&l);
        out.push('\n');
    };
    line(format!(
        "member {} (enrolled {}, as of {})",
        text(&s["member"]),
        text(&s["enrolled"]),
        text(&s["as_of"])
    ));
    let worth = match &s["points_value"] {
        Value::String(v) => format!(" (worth {v})"),
        _ => String::new(),
    };
    line(format!(
        "  balance:       {} {}{worth}; reward money {}",
        count(s["points"].as_i64().unwrap_or(0)),
        text(&s["points_name"]),
        text(&s["reward_money"])
    ));
    for pending in s["pending"].as_array().into_iter().flatten() {
        line(format!(
            "  pending:       {} {}, available {}",
            count(pending["points"].as_i64().unwrap_or(0)),
            text(&s["points_name"]),
            text(&pending["available"])
        ));
    }
    match &s["tier"] {
        Value::String(tier) => {
            let until = match &s["tier_until"] {
                Value::String(until) => format!(", until {until}"),
                _ => ", while qualified".into(),
            };
            line(format!(
                "  tier:          \"{tier}\" since {}{until}",
                text(&s["tier_since"])
            ));
        }
        _ => line("  tier:          none".into()),
    }
    for progress in s["tier_progress"].as_array().into_iter().flatten() {
        if progress["reached"] == true {
            continue;
        }
        let shown = |v: &Value| match v {
            Value::Number(n) => count(n.as_i64().unwrap_or(0)),
            other => text(other).to_string(),
        };
        let measure = match progress["measure"].as_str() {
            Some("spend") => "spent",
            Some("points_earned") => "points earned",
            other => other.unwrap_or(""),
        };
        line(format!(
            "  to \"{}\": {} more {measure} ({} of {})",
            text(&progress["tier"]),
            shown(&progress["to_go"]),
            shown(&progress["so_far"]),
            shown(&progress["needed"]),
        ));
    }
    line(format!(
        "  this year:     {} spent, {} points earned",
        text(&s["spend_this_year"]),
        count(s["points_earned_this_year"].as_i64().unwrap_or(0))
    ));
    for m in s["memberships"].as_array().into_iter().flatten() {
        let until = match &m["until"] {
            Value::String(u) => format!(", until {u}"),
            _ => String::new(),
        };
        line(format!(
            "  membership:    \"{}\" {} since {}{until}",
            text(&m["plan"]),
            text(&m["state"]),
            text(&m["since"])
        ));
    }
    for card in s["punch_cards"].as_array().into_iter().flatten() {
        line(format!(
            "  punch card:    {} of {} stamps ({})",
            card["stamps"],
            card["of"],
            text(&card["rule"])
        ));
    }
    for held in s["rewards_held"].as_array().into_iter().flatten() {
        let expires = match &held["expires"] {
            Value::String(e) => format!(", expires {e}"),
            _ => String::new(),
        };
        line(format!(
            "  reward held:   \"{}\" issued {}{expires}",
            text(&held["reward"]),
            text(&held["issued"])
        ));
    }
    for lot in s["points_expiring_soon"].as_array().into_iter().flatten() {
        let unless = if lot["unless_active"].as_bool() == Some(true) {
            " unless the member is active"
        } else {
            ""
        };
        line(format!(
            "  expiring:      {} {} on {}{unless}",
            count(lot["points"].as_i64().unwrap_or(0)),
            text(&s["points_name"]),
            text(&lot["on"])
        ));
    }
    let t = &s["totals"];
    line(format!(
        "  points:        issued {}, redeemed {}, expired {}, donated {}, clawed back {}",
        count(t["points_issued"].as_i64().unwrap_or(0)),
        count(t["points_redeemed"].as_i64().unwrap_or(0)),
        count(t["points_expired"].as_i64().unwrap_or(0)),
        count(t["points_donated"].as_i64().unwrap_or(0)),
        count(t["points_clawed_back"].as_i64().unwrap_or(0)),
    ));
    line(format!(
        "  reward money:  issued {}, spent {}, expired {}, clawed back {}",
        text(&t["reward_money_issued"]),
        text(&t["reward_money_spent"]),
        text(&t["reward_money_expired"]),
        text(&t["reward_money_clawed_back"]),
    ));
    if !entries.is_empty() {
        line("recent ledger entries:".into());
        for e in entries {
            line(format!(
                "  {:<20} {:<24} {}",
                text(&e["at"]),
                text(&e["kind"]),
                text(&e["reason"])
            ));
        }
    }
    out
}
