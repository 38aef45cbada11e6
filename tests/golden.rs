//! Golden event streams: each program in `programs/` run on
//! `examples/events/<name>.jsonl`. The snapshot holds every effect and the
//! final state of every member; the assertions next to it state numbers
//! worked out by hand from the program's rules.

// Amounts in cents are written dollars_cents: `37_50` is $37.50.
#![allow(clippy::inconsistent_digit_grouping)]
use loyalty::engine::{Engine, Member, summary};

use loyalty::runner::{Outputs, Runner, Summary};
use serde_json::Value;

struct Outcome {
    effects: Vec<Value>,
    members: Vec<Member>,
    summary: Summary,
    snapshot: String,
}

fn run(name: &str) -> Outcome {
    let root = env!("CARGO_MANIFEST_DIR");
    let source = std::fs::read_to_string(format!("{root}/programs/{name}.loy")).unwrap();
    let events = std::fs::read_to_string(format!("{root}/examples/events/{name}.jsonl")).unwrap();
    let program = loyalty::load(&source).expect("the program is valid");
    let mut engine = Engine::new(&program);
    let mut effects_out: Vec<u8> = Vec::new();
    let run_summary = {
        let outputs = Outputs {
            effects: Some(&mut effects_out),
            ..Outputs::default()
        };
        let mut runner = Runner::new(&mut engine, None, outputs, name);
        for (n, line) in events.lines().enumerate() {
            runner.line(n + 1, line).unwrap();
        }
        runner.finish().unwrap()
    };
    let effects: Vec<Value> = String::from_utf8(effects_out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut snapshot = String::new();
    for e in &effects {
        snapshot.push_str(&format!(
            "{:>2} {:<5} {:<20} {:<22} {:>6} {:>7} {:>7}  {}\n",
            e["line"].to_string(),
            e["member"].as_str().unwrap(),
            e["at"].as_str().unwrap(),
            e["kind"].as_str().unwrap(),
            e["points"].to_string(),
            e["reward_money"].as_str().unwrap(),
            e["value"].as_str().unwrap(),
            e["reason"].as_str().unwrap()
        ));
    }
    for member in engine.members() {
        let state = summary(&program, member, engine.clock());
        snapshot.push_str(&serde_json::to_string_pretty(&state).unwrap());
        snapshot.push('\n');
    }
    for rejected in &run_summary.rejected {
        snapshot.push_str(&format!(
            "rejected line {}: {}\n",
            rejected.line, rejected.reason
        ));
    }
    Outcome {
        effects,
        members: engine.members().to_vec(),
        summary: run_summary,
        snapshot,
    }
}

impl Outcome {
    fn member(&self, id: &str) -> &Member {
        self.members.iter().find(|m| m.id == id).unwrap()
    }

    /// Total `value` in cents of the effects of one kind.
    fn value_of(&self, kind: &str) -> i64 {
        self.effects
            .iter()
            .filter(|e| e["kind"] == kind)
            .map(|e| {
                let text = e["value"].as_str().unwrap().replace('.', "");
                text.parse::<i64>().unwrap()
            })
            .sum()
    }

    fn count_of(&self, kind: &str) -> usize {
        self.effects.iter().filter(|e| e["kind"] == kind).count()
    }

    fn tier(&self, id: &str, program: &str) -> Option<String> {
        let source = std::fs::read_to_string(format!(
            "{}/programs/{program}.loy",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let program = loyalty::load(&source).unwrap();
        self.member(id)
            .tier
            .map(|t| program.tiers[usize::from(t)].name.clone())
    }
}

#[test]
fn dicks_scorecard() {
    let out = run("dicks_scorecard");
    insta::assert_snapshot!(out.snapshot);
    assert!(out.summary.rejected.is_empty());
    let ana = out.member("ana");
    // $120 less $8 shipping = 112, fitness tracker 100 (once per member),
    // active day 10 (once per day), $400 = 400: 622 → 2 × 300 become $20.
    // Chosen day: $100 × 3 = 300 → $10. June's second chosen day is over
    // the 1 per year: $50 = 50. Balance 22 + 300 - 300 + 50 = 72.
    assert_eq!(ana.points.balance, 72);
    assert_eq!(ana.totals.points_issued, 112 + 100 + 10 + 400 + 300 + 50);
    // $520 spent by March makes Gold, kept to the end of 2027; Gold pays
    // $10 on reaching it and a year later.
    assert_eq!(out.tier("ana", "dicks_scorecard").as_deref(), Some("Gold"));
    assert_eq!(ana.money.balance, 20_00 + 10_00 + 10_00 + 10_00);
    // The card holder earns 2 points per $1, shipping excluded: 2 × 75 +
    // 2 × 150 = 450 → $10, 150 left; then $30 less the $10 reward = $20 → 40.
    let ben = out.member("ben");
    assert_eq!(ben.points.balance, 190);
    assert_eq!(
        out.tier("ben", "dicks_scorecard").as_deref(),
        Some("ScoreRewards Card")
    );
}

#[test]
fn kohls() {
    let out = run("kohls");
    insta::assert_snapshot!(out.snapshot);
    let carol = out.member("carol");
    // 150, then $200 less 15% off the next order ($30) = $170 × 3 on the
    // bonus days = 510: 660 points. On 1 December 600 become 6 × $5 = $30,
    // 60 points stay; $60 paid $30 in rewards earns 30: 90.
    assert_eq!(carol.points.balance, 90);
    assert_eq!(carol.money.balance, 0);
    assert_eq!(out.value_of("reward_used"), 30_00 + 5_00);
    // The newsletter reward is once per member.
    assert_eq!(out.count_of("reward_issued"), 2);
}

#[test]
fn rei_coop() {
    let out = run("rei_coop");
    insta::assert_snapshot!(out.snapshot);
    let dana = out.member("dana");
    // 10% of $200 and $300 = $50 saved, $10 taken back by the $100 refund,
    // paid out as $40 on the first anniversary; 2027's $50 saves $5.
    assert_eq!(dana.money.balance, 40_00);
    assert_eq!(dana.rules[0].accrued, 5_00);
    assert_eq!(out.value_of("fee_charged"), 30_00);
    assert_eq!(out.value_of("charity_donation"), 2_00);
}

#[test]
fn cvs_extracare() {
    let out = run("cvs_extracare");
    insta::assert_snapshot!(out.snapshot);
    let erin = out.member("erin");
    // CarePass: a month's free trial, then $5 on 1 Feb and 1 Mar; cancelled
    // on 15 Mar it ends on 1 Apr with no third fee. $10 each month: 3 × $10.
    assert_eq!(out.value_of("fee_charged"), 10_00);
    // 2% of $40 (the $50 store-brand order less 20%) $0.80, of $20 $0.40,
    // 10% at the beauty event of $15 $1.50, 2% of $40 $0.80, $1 for the
    // prescription, $3 birthday: $7.50, plus $30 from CarePass.
    assert_eq!(erin.money.balance, 37_50);
    // $20 + $15 in beauty in January pass $30 once: one gift.
    assert_eq!(erin.rewards.len(), 1);
}

#[test]
fn subway() {
    let out = run("subway");
    insta::assert_snapshot!(out.snapshot);
    // The fifth visit gives the drink; the sixth starts a new card.
    let finn = out.member("finn");
    assert_eq!(finn.rules[0].counter, 1);
    assert_eq!(out.value_of("reward_used"), 2_00);
    // The second redemption has no drink to use.
    assert_eq!(out.summary.rejected.len(), 1);
    assert_eq!(out.summary.rejected[0].line, 9);
}

#[test]
fn body_shop() {
    let out = run("body_shop");
    insta::assert_snapshot!(out.snapshot);
    let gina = out.member("gina");
    // 130 → $10 reward and 30; + 45 = 75; 50 donated ($5 to wildlife) = 25;
    // $40 less $15 of rewards earns 25: 50 points.
    assert_eq!(gina.points.balance, 50);
    assert_eq!(gina.totals.points_donated, 50);
    assert_eq!(out.value_of("points_donated"), 5_00);
    // $10 from points and $10 birthday, $15 spent.
    assert_eq!(gina.money.balance, 5_00);
    // Donating 500 points with 25 is refused whole.
    assert_eq!(out.summary.rejected[0].line, 5);
}

#[test]
fn north_face() {
    let out = run("north_face");
    insta::assert_snapshot!(out.snapshot);
    let hana = out.member("hana");
    // 1,600 + 100 + 400 = 2,100 earned: Basecamp, $20. + 3,200 = 5,300:
    // Halfdome and Summit at once, $25 and $30.
    assert_eq!(hana.points.balance, 5_300);
    assert_eq!(hana.money.balance, 75_00);
    // A new calendar year starts the count again: no tier.
    assert_eq!(hana.tier, None);
}

#[test]
fn starbucks() {
    let out = run("starbucks");
    insta::assert_snapshot!(out.snapshot);
    let ivan = out.member("ivan");
    // 10 + 2 × 20 + 50 = 100 stars, all spent on a brewed coffee;
    // $13.49 with the registered card = 26 stars, 25 on an extra shot.
    assert_eq!(ivan.points.balance, 1);
    assert_eq!(ivan.totals.points_redeemed, 125);
    assert_eq!(out.value_of("reward_used"), 3_00 + 80);
}

#[test]
fn sephora() {
    let out = run("sephora");
    insta::assert_snapshot!(out.snapshot);
    // $380 makes VIB; refunding $80 of it leaves $300, Insider again;
    // + $750 = $1,050 makes Rouge; 2027 starts at zero; $400 is VIB.
    let tiers: Vec<&str> = out
        .effects
        .iter()
        .filter(|e| e["kind"] == "tier_changed")
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(tiers.len(), 6);
    assert_eq!(out.tier("jade", "sephora").as_deref(), Some("VIB"));
}

#[test]
fn amazon_prime() {
    let out = run("amazon_prime");
    insta::assert_snapshot!(out.snapshot);
    // The trial ends on 31 January: $100. Cancelled in December, the year
    // paid for ends on 31 January 2027. Back in March: no second trial, $100.
    assert_eq!(out.value_of("fee_charged"), 200_00);
    assert_eq!(out.count_of("trial_started"), 1);
    assert_eq!(out.count_of("membership_ended"), 1);
}

#[test]
fn barnes_noble() {
    let out = run("barnes_noble");
    insta::assert_snapshot!(out.snapshot);
    let lea = out.member("lea");
    // 40% off a $50 bestseller in store (not 10%: the largest applies).
    // Welcome gift: 30% of $60 of toys = $18, paid $42; + $70 = $112 → one
    // $5 reward, $12 carried; the birthday offer takes 20% of $36 (a $40
    // store order less 10%) = $7.20, paid $28.80, carried $40.80.
    assert_eq!(out.value_of("discount_given"), 20_00 + 4_00);
    assert_eq!(lea.money.balance, 5_00);
    assert_eq!(lea.rules.iter().map(|r| r.counter).max(), Some(40_80));
    assert_eq!(out.value_of("reward_used"), 18_00 + 7_20 + 3_00);
}

#[test]
fn williams_sonoma() {
    let out = run("williams_sonoma");
    insta::assert_snapshot!(out.snapshot);
    let max = out.member("max");
    // Silver 2% of $100 = $2. Gold: 5% × 2 in the first 30 days = $10; at
    // the partner 10% of $50 = $5 (funded by it); later 5% of $100 = $5 and
    // 1% of $100 at the partner = $1; $25 on the birthday.
    assert_eq!(max.money.balance, 2_00 + 10_00 + 5_00 + 5_00 + 1_00 + 25_00);
    assert_eq!(out.value_of("partner_funded"), 6_00);
}

#[test]
fn tesco_clubcard() {
    let out = run("tesco_clubcard");
    insta::assert_snapshot!(out.snapshot);
    assert!(out.summary.rejected.is_empty());
    // A basket of £42.50 of shopping (42 points) and £60 of fuel at 1
    // point per £2 (30); then £120 with £2 off the Clubcard Price wine:
    // £118 paid, 118 points. 190 by the quarter.
    let ian = out.member("ian");
    assert_eq!(ian.totals.points_issued, 42 + 30 + 118 + 28);
    // 1 April starts at 23:00 UTC on 31 March in London (summer time):
    // 150 of the 190 become £1.50, spent on 10 April, whose £30 less the
    // £1.50 earns 28.
    assert_eq!(ian.totals.points_redeemed, 150);
    assert_eq!(ian.points.balance, 40 + 28);
    assert_eq!(ian.money.balance, 0);
    // Jo pays £78 for £80 (£2 off two coffees): 78 points. One coffee
    // back returns what was paid for it, £10 × 78/80 / 2 = £4.87, and
    // 78 × 4.87 / 78 = 4 points. 74 left: 50 become £0.50.
    let jo = out.member("jo");
    assert_eq!(jo.totals.points_clawed_back, 4);
    assert_eq!(jo.points.balance, 24);
    assert_eq!(jo.money.balance, 50);
    assert_eq!(out.value_of("discount_given"), 2_00 + 2_00);
}

#[test]
fn mywalgreens() {
    let out = run("mywalgreens");
    insta::assert_snapshot!(out.snapshot);
    assert!(out.summary.rejected.is_empty());
    // The Walgreens vitamins earn 5% of $20: $1.00. The shampoo and the
    // tax earn 1% of $18.30: $0.18. The prescription earns nothing.
    // $25 less the $1.00 spent earns 1% of $24: $0.24.
    let mia = out.member("mia");
    assert_eq!(mia.totals.money_issued, 1_00 + 18 + 24);
    assert_eq!(mia.totals.money_spent, 1_00);
    // A year after it was issued, what is left expires.
    assert_eq!(mia.totals.money_expired, 18 + 24);
    assert_eq!(mia.money.balance, 0);
}

#[test]
fn target_circle() {
    let out = run("target_circle");
    insta::assert_snapshot!(out.snapshot);
    assert!(out.summary.rejected.is_empty());
    let liv = out.member("liv");
    // 1% of $50 and of $20; then of $100 less the card's 5% ($5), the
    // birthday's 5% off the rest ($4.75) and the $0.70 spent: 1% of
    // $89.55 is $0.89.
    assert_eq!(liv.totals.money_issued, 50 + 20 + 89);
    assert_eq!(liv.money.balance, 50 + 20 + 89 - 70);
    // Same-day delivery on the two orders of $35 or more.
    assert_eq!(out.value_of("perk_used"), 2 * 9_99);
    // $99 for the year from 1 January; on 1 March the card holder's plan
    // replaces it, crediting 306 of its 365 days: $99 × 306/365 = $82.99.
    assert_eq!(out.value_of("fee_charged"), 99_00 + 49_00);
    assert_eq!(out.value_of("fee_credited"), 82_99);
    let held: Vec<bool> = liv.memberships.iter().map(|s| s.is_active()).collect();
    assert_eq!(held, [false, true]);
}

#[test]
fn boots_advantage() {
    let out = run("boots_advantage");
    insta::assert_snapshot!(out.snapshot);
    assert!(out.summary.rejected.is_empty());
    // Over 60: the Boots vitamins earn 8 a pound (80) and the perfume 3
    // (126); 200 of the 206 become £2, spent on £15: £13 earns 39.
    let pat = out.member("pat");
    assert_eq!(pat.totals.points_issued, 80 + 126 + 39);
    assert_eq!(pat.points.balance, 6 + 39);
    assert_eq!(pat.money.balance, 0);
    // Under 60: the whole basket at 3 a pound, 156; £1 of it, and the 56
    // left go a year after the last use of the card.
    let sam = out.member("sam");
    assert_eq!(sam.totals.points_issued, 156);
    assert_eq!(sam.totals.points_expired, 56);
    assert_eq!(sam.money.balance, 1_00);
}

#[test]
fn marriott_bonvoy() {
    let out = run("marriott_bonvoy");
    insta::assert_snapshot!(out.snapshot);
    assert!(out.summary.rejected.is_empty());
    // 10 points a dollar on $1,200 and $800, whose 4 nights make 10: Silver
    // from then on, 11 a dollar on $500 and on $2,400, whose 12 nights make
    // 25: Gold, 12.5 a dollar on $1,000. The 3-night stay refunded in full
    // takes back its 5,500 points and its nights (27 in the year, not 30),
    // and Gold is kept, through 2027. A free night for 35,000.
    let mia = out.member("mia");
    let earned = 12_000 + 8_000 + 5_500 + 26_400 + 12_500;
    assert_eq!(mia.totals.points_issued, earned);
    assert_eq!(mia.points.balance, earned - 5_500 - 35_000);
    assert_eq!(mia.counters.total.nights, 6 + 4 + 12 + 5);
    assert_eq!(
        out.tier("mia", "marriott_bonvoy").as_deref(),
        Some("Gold Elite")
    );
    assert_eq!(out.value_of("reward_used"), 250_00);
}

#[test]
fn delta_skymiles() {
    let out = run("delta_skymiles");
    insta::assert_snapshot!(out.snapshot);
    assert!(out.summary.rejected.is_empty());
    // 5 miles a dollar on $1,200 and on the $4,000 fare that makes $5,200
    // in the year: Silver from then on, which earns 7 on the next fare's
    // $900 (the checked bag is no fare). 12,500 for the award seat.
    let dee = out.member("dee");
    assert_eq!(dee.totals.points_issued, 6_000 + 20_000 + 6_300);
    assert_eq!(dee.points.balance, 6_000 + 20_000 + 6_300 - 12_500);
    // Held through 2027 with no spend in it.
    assert_eq!(
        out.tier("dee", "delta_skymiles").as_deref(),
        Some("Silver Medallion")
    );
    assert_eq!(out.value_of("reward_used"), 150_00);
}
