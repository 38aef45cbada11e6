//! A generated event stream for tests and benchmarks: members enrol, buy,
//! return, act, redeem and donate, and a tick ends every month. It is
//! deterministic (a fixed-seed generator), so runs can be compared.

#![allow(dead_code)]

/// A program that uses most of what the engine does.
pub const RICH_PROGRAM: &str = r#"program "Rich"
currency USD
points are called "points", worth $1 per 100 points
categories shoes, food
actions app_checkin
charity "Food Bank", receives $1 per 100 points

earn 1 point per $1 spent, excluding shipping
earn 2 points per $1 spent, in category food, up to 500 points per day
earn 50 points for review, 3 times per year
earn 5 points for app_checkin, once per day
earn 100 points for joining
bonus 2x points, in category shoes
bonus 50 points, on orders of $150 or more, once per month
every 500 points become $5 reward, on the first day of each month
reward "Tote bag", costs 300 points, worth $4
points expire 12 months after they are earned
rewards expire 90 days after they are issued

tier "Member"
tier "Silver", for $500 spent in a calendar year, kept until the end of the next year {
  earn 2 points per $1 spent
  earn $5 reward every year
}
tier "Gold", for 3,000 points earned in the last 12 months {
  earn 3 points per $1 spent
  bonus 3x points, on 1 chosen day per month, exclusive
}
membership "Plus", costs $5 per month, with a free trial of 1 month {
  discount 10%
  earn $2 reward every month
}
"#;

/// A small generator (xorshift), to need no dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `events` JSON lines for `members` members, starting 2026-01-01.
pub fn stream(members: usize, events: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(events);
    let mut enrolled = 0usize;
    let mut orders: Vec<(usize, usize, u64)> = Vec::new();
    // Seconds since 2026-01-01; about a year over the stream.
    let start: i64 = 1_767_225_600;
    let step = (365 * 86_400 / events.max(1) as i64).max(1);
    let mut month = 0;
    for n in 0..events {
        let t = start + n as i64 * step;
        let at = format_time(t);
        let this_month = month_of(t);
        if this_month != month {
            month = this_month;
            out.push(format!(r#"{{"id":"tick-{n}","at":"{at}","type":"tick"}}"#));
            continue;
        }
        if enrolled < members
            && (enrolled == 0 || rng.below(4) == 0 || events - n <= members - enrolled)
        {
            let birthday = format!(
                "19{:02}-{:02}-{:02}",
                50 + rng.below(50),
                1 + rng.below(12),
                1 + rng.below(28)
            );
            out.push(format!(
                r#"{{"id":"e{n}","at":"{at}","type":"enroll","member":"m{enrolled}","birthday":"{birthday}"}}"#
            ));
            enrolled += 1;
            continue;
        }
        let member = rng.below(enrolled as u64) as usize;
        let line = match rng.below(100) {
            0..=69 => {
                let cents = 500 + rng.below(30_000);
                let category = ["shoes", "food", "toys"][rng.below(3) as usize];
                let chosen = if rng.below(10) == 0 {
                    r#","chosen_day":true"#
                } else {
                    ""
                };
                orders.push((member, n, cents));
                format!(
                    r#"{{"id":"e{n}","at":"{at}","type":"purchase","member":"m{member}","amount":"{}.{:02}","order":"o{n}","category":"{category}","shipping":"2.00"{chosen}}}"#,
                    cents / 100,
                    cents % 100
                )
            }
            70..=74 if !orders.is_empty() => {
                let (who, order, cents) = orders[rng.below(orders.len() as u64) as usize];
                let part = (cents / (1 + rng.below(3))).max(1);
                format!(
                    r#"{{"id":"e{n}","at":"{at}","type":"refund","member":"m{who}","order":"o{order}","amount":"{}.{:02}"}}"#,
                    part / 100,
                    part % 100
                )
            }
            75..=84 => {
                let action = ["review", "app_checkin", "newsletter"][rng.below(3) as usize];
                format!(
                    r#"{{"id":"e{n}","at":"{at}","type":"action","member":"m{member}","action":"{action}"}}"#
                )
            }
            85..=89 => format!(
                r#"{{"id":"e{n}","at":"{at}","type":"redeem","member":"m{member}","reward":"Tote bag"}}"#
            ),
            90..=92 => format!(
                r#"{{"id":"e{n}","at":"{at}","type":"donate","member":"m{member}","charity":"Food Bank","points":{}}}"#,
                1 + rng.below(200)
            ),
            93..=95 => format!(
                r#"{{"id":"e{n}","at":"{at}","type":"subscribe","member":"m{member}","plan":"Plus"}}"#
            ),
            96..=97 => format!(
                r#"{{"id":"e{n}","at":"{at}","type":"cancel","member":"m{member}","plan":"Plus"}}"#
            ),
            _ => format!(
                r#"{{"id":"e{n}","at":"{at}","type":"purchase","member":"m{member}","amount":"25.00","rewards":"5.00"}}"#
            ),
        };
        out.push(line);
    }
    out
}

fn month_of(t: i64) -> i64 {
    loyalty::time::Time(t).month_index()
}

fn format_time(t: i64) -> String {
    loyalty::time::Time(t).to_string()
}
