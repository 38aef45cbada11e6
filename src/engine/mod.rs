//! The engine: applies events to members as the program says, and runs
//! the scheduled work that time brings due.
//!
//! `Engine::apply` takes one decoded event and either applies all of it,
//! pushing its effects, or rejects it with a reason and changes nothing
//! of the event's own. Time passing is not the event's: before a
//! member's event, the work scheduled for that member up to the event's
//! time runs (expiry, fees, monthly rewards, tier reviews, birthdays),
//! and a `tick` runs it for every member.

mod apply;
mod batch;
mod budgets;
mod effect;
mod event;
mod member;
mod member_ids;
mod purchase;
mod schedule;
mod summary;

use apply::Apply;
pub use batch::Outcome;
pub use budgets::{BudgetUse, Budgets, Closings, NOTED_SECONDS, closings};
pub use effect::{Cause, Effect, EffectKind, MemberIndex, reason, what, why};
pub use event::{Event, EventKind, Item, MAX_ITEMS, Purchase, Reject, decode};
pub use member::*;
pub use summary::{summary, tier_progress};

use crate::program::{Action, Program, Scope};
use crate::time::Time;
use member_ids::MemberIds;

/// The most time one event may bring forward: a year, leap day
/// included.
pub const MAX_STEP_DAYS: i64 = 366;

/// The most shards a batch shares its members among.
pub const MAX_SHARDS: usize = 64;

pub struct Engine<'p> {
    program: &'p Program,
    members: Vec<Member>,
    index: MemberIds,
    /// The budgets all members share, counted in event order.
    budgets: Budgets,
    /// The latest time of any event: a `tick` may not come before it,
    /// and no event may be more than [`MAX_STEP_DAYS`] past it. Order is
    /// otherwise each member's own ([`Member::time`]).
    clock: Time,
    changed: Vec<bool>,
    changed_list: Vec<MemberIndex>,
    /// Buffers of `apply_batch` and `tick`, reused: the plan, each
    /// shard's work, and where each shard's output has been read to.
    plan: Vec<batch::Planned>,
    shards: Vec<batch::ShardWork>,
    read: (Vec<usize>, Vec<usize>),
}

impl<'p> Engine<'p> {
    pub fn new(program: &'p Program) -> Self {
        Engine::restore(program, Vec::new(), Time(i64::MIN))
    }

    /// An engine over members loaded from a ledger.
    pub fn restore(program: &'p Program, members: Vec<Member>, clock: Time) -> Self {
        let index = members
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id.as_str(), i as MemberIndex))
            .collect();
        let changed = vec![false; members.len()];
        Engine {
            program,
            members,
            index,
            budgets: Budgets::of(program),
            clock,
            changed,
            changed_list: Vec::new(),
            plan: Vec::new(),
            shards: (0..rayon::current_num_threads().clamp(1, MAX_SHARDS))
                .map(|_| batch::ShardWork::default())
                .collect(),
            read: Default::default(),
        }
    }

    /// The engine with its members shared out in `n` shards (1 to
    /// `MAX_SHARDS`) for batches and ticks, rather than one per thread.
    /// The outcome is the same for any number.
    pub fn with_shards(mut self, n: usize) -> Self {
        self.shards = (0..n.clamp(1, MAX_SHARDS))
            .map(|_| batch::ShardWork::default())
            .collect();
        self
    }

    /// The same members under a new version of the program (see
    /// [`Member::migrate`]); schedules are worked out afresh from now.
    pub fn migrate<'n>(self, program: &'n Program) -> Engine<'n> {
        let old = self.program;
        let clock = self.clock;
        // A budget the new version keeps as it was goes on counting, so
        // that a change elsewhere does not refill it mid-month.
        let written = |p: &'p Program| p.budgets().map(|(text, c)| (text, c.limit, c.per));
        let same_budgets =
            written(old).eq(program.budgets().map(|(text, c)| (text, c.limit, c.per)));
        let budgets = self.budgets.counters().to_vec();
        let members = self
            .members
            .into_iter()
            .map(|m| m.migrate(old, program))
            .collect();
        let mut engine = Engine::restore(program, members, clock);
        if same_budgets {
            engine.restore_budgets(budgets);
        }
        let mut effects = Vec::new();
        for i in 0..engine.members.len() as MemberIndex {
            let mut apply = engine.apply_to(i, &mut effects);
            apply.schedule_birthday(clock);
            apply.member.next_conversion = apply.next_conversion_after(clock);
            apply.member.next_tier_review = clock;
            for (r, rule) in program.rules.iter().enumerate() {
                if rule.is_scheduled() && apply.member.rules[r].next_at == Time::NEVER {
                    let scope = rule.conditions.scope;
                    if apply.member.in_scope(scope) {
                        apply.start_scope(clock, scope);
                    }
                }
            }
            apply.member.due = schedule::next_due(program, apply.member);
        }
        engine
    }

    pub fn program(&self) -> &'p Program {
        self.program
    }

    /// What each budget has used in its current period, in the order of
    /// `Program::budgets`.
    pub fn budget_counters(&self) -> &[CapUse] {
        self.budgets.counters()
    }

    /// The budgets' counters as a ledger kept them; a list that does not
    /// fit the program (another version's) leaves them unused.
    pub fn restore_budgets(&mut self, counters: Vec<CapUse>) {
        if counters.len() == self.program.budget_slots {
            self.budgets = Budgets::Counted(counters);
        }
    }

    pub fn clock(&self) -> Time {
        self.clock
    }

    pub fn members(&self) -> &[Member] {
        &self.members
    }

    pub fn member(&self, id: &str) -> Option<&Member> {
        self.index.get(id).map(|i| &self.members[i as usize])
    }

    pub fn member_index(&self, id: &str) -> Option<MemberIndex> {
        self.index.get(id)
    }

    pub fn member_at(&self, index: MemberIndex) -> &Member {
        &self.members[index as usize]
    }

    /// The members changed since the last call, for the ledger to save.
    pub fn take_changed(&mut self) -> Vec<MemberIndex> {
        for &i in &self.changed_list {
            self.changed[i as usize] = false;
        }
        std::mem::take(&mut self.changed_list)
    }

    /// Marks every member as changed, for a full snapshot.
    pub fn mark_all(&mut self) {
        for i in 0..self.members.len() as MemberIndex {
            self.mark(i);
        }
    }

    fn mark(&mut self, i: MemberIndex) {
        if !self.changed[i as usize] {
            self.changed[i as usize] = true;
            self.changed_list.push(i);
        }
    }

    fn apply_to<'a>(&'a mut self, i: MemberIndex, out: &'a mut Vec<Effect>) -> Apply<'a> {
        self.mark(i);
        member_step(
            self.program,
            &mut self.members[i as usize],
            i,
            out,
            &mut self.budgets,
        )
    }

    fn index_of(&self, id: &str) -> Result<MemberIndex, Reject> {
        self.index
            .get(id)
            .ok_or_else(|| Reject::UnknownMember(id.to_string()))
    }

    /// Applies one event. On `Err` nothing of the event itself was
    /// applied; scheduled work due by its time may have run (its effects
    /// are in `out`, marked as scheduled).
    pub fn apply(&mut self, event: &Event, out: &mut Vec<Effect>) -> Result<(), Reject> {
        let at = event.at;
        match &event.kind {
            EventKind::Tick => self.tick(at, out),
            EventKind::Refer { referee } => {
                self.check_ahead(at)?;
                let i = self.index_of(&event.member)?;
                let r = self.index_of(referee)?;
                let [referrer, friend] = self
                    .members
                    .get_disjoint_mut([i as usize, r as usize])
                    .map_err(|_| Reject::SelfReferral)?;
                // Order is kept per member: at the later of the two's
                // times, if the event is older.
                let at = at.max(referrer.time).max(friend.time);
                referrer.time = at;
                friend.time = at;
                let result = refer(
                    self.program,
                    (referrer, i),
                    (friend, r),
                    at,
                    (out, &mut self.budgets),
                );
                self.mark(i);
                self.mark(r);
                self.clock = self.clock.max(at);
                result
            }
            _ => {
                let i = self.member_for(event)?;
                self.mark(i);
                step_in_order(
                    self.program,
                    &mut self.members[i as usize],
                    i,
                    event,
                    (out, &mut self.budgets),
                )
            }
        }
    }

    /// What a purchase would do, changing nothing: its effects go to
    /// `out` and the member comes back as the purchase would leave them.
    /// With `guest`, the purchase is quoted for someone who joins at its
    /// time (whose joining's own effects are left out).
    pub fn quote(
        &self,
        event: &Event,
        guest: bool,
        out: &mut Vec<Effect>,
    ) -> Result<Member, Reject> {
        if !matches!(event.kind, EventKind::Purchase(_)) {
            return Err(Reject::Malformed("a quote is of a purchase".into()));
        }
        // The shared budgets as they stand, on a copy.
        let mut budgets = Budgets::Counted(self.budgets.counters().to_vec());
        let (mut member, index) = if guest {
            let index = MemberIndex::try_from(self.members.len()).unwrap_or(MemberIndex::MAX);
            let mut member = Member::placeholder(event.at);
            let joining = Event {
                kind: EventKind::Enroll {
                    birthday: None,
                    attributes: Default::default(),
                },
                ..event.clone()
            };
            step(
                self.program,
                &mut member,
                index,
                &joining,
                (&mut Vec::new(), &mut budgets),
            )?;
            (member, index)
        } else {
            let index = self.index_of(&event.member)?;
            (self.members[index as usize].clone(), index)
        };
        step(self.program, &mut member, index, event, (out, &mut budgets))?;
        Ok(member)
    }

    /// Erases a member's personal data on request: their id becomes a
    /// pseudonym (returned), their birthday and attributes are dropped.
    /// Their balances, lots, orders and everything counted stay as they
    /// were, so the books still balance. `None` for an unknown member.
    pub fn erase(&mut self, id: &str) -> Option<String> {
        let i = self.index.get(id)?;
        let mut pseudonym = format!("erased-{i}");
        while self.index.contains(&pseudonym) {
            pseudonym.push('x');
        }
        self.members[i as usize].erase(&pseudonym);
        // Rare enough to rebuild the index rather than unlink one id.
        self.index = self
            .members
            .iter()
            .enumerate()
            .map(|(n, m)| (m.id.as_str(), n as MemberIndex))
            .collect();
        self.mark(i);
        Some(pseudonym)
    }

    /// A `tick` runs every member's work due by its time, so it may not
    /// come before any event: the engine's clock.
    fn check_order(&self, at: Time) -> Result<(), Reject> {
        if at < self.clock {
            return Err(Reject::OutOfOrder {
                at,
                clock: self.clock,
            });
        }
        self.check_ahead(at)
    }

    /// Whether an event's time is within reach of the engine's clock.
    fn check_ahead(&self, at: Time) -> Result<(), Reject> {
        // The work an event brings due grows with the time it crosses
        // (every member's month ends, for a tick): a bound on that time
        // bounds the work and the memory of one line, and a slip of the
        // year (9999, 2062) is caught before it stops every later event.
        if self.clock != Time(i64::MIN) && at > self.clock.add_days(MAX_STEP_DAYS) {
            return Err(Reject::TooFarAhead {
                at,
                clock: self.clock,
            });
        }
        Ok(())
    }

    /// The member a member event goes to, a new one for `enroll`, unless
    /// the event is rejected before reaching it. Time has passed once it
    /// reaches its member, even if it is then rejected: the member's later
    /// events happen no earlier.
    fn member_for(&mut self, event: &Event) -> Result<MemberIndex, Reject> {
        self.check_ahead(event.at)?;
        let i = match &event.kind {
            EventKind::Enroll { .. } => {
                if self.index.contains(&event.member) {
                    return Err(Reject::AlreadyEnrolled(event.member.to_string()));
                }
                self.add_member(&event.member, event.at)
            }
            _ => self.index_of(&event.member)?,
        };
        self.mark(i);
        self.clock = self.clock.max(event.at);
        Ok(i)
    }

    /// A place in the table for a new member, whom the `enroll` event
    /// then makes (on a shard's thread, in a batch).
    fn add_member(&mut self, id: &str, at: Time) -> MemberIndex {
        let i = self.members.len() as MemberIndex;
        self.members.push(Member::placeholder(at));
        self.changed.push(false);
        self.index.insert(id, i);
        i
    }
}

/// Applies an event to its member (any event but `tick` and `refer`,
/// which are the engine's): the scheduled work due by its time first,
/// then the event, then what it brought due at once. The one step of the
/// engine ([`step_in_order`]) and the simulator; on `Err` nothing of the
/// event itself was applied.
pub fn step(
    program: &Program,
    member: &mut Member,
    index: MemberIndex,
    event: &Event,
    (out, budgets): Output,
) -> Result<(), Reject> {
    step_at(program, member, index, event, event.at, (out, budgets))
}

/// [`step`] in the engine, which keeps order per member: an event older
/// than its member's own time happens at that time, so that what already
/// happened to them stays as it happened. (The simulator makes each
/// customer's events itself and steps them at their own times.)
pub fn step_in_order(
    program: &Program,
    member: &mut Member,
    index: MemberIndex,
    event: &Event,
    output: Output,
) -> Result<(), Reject> {
    let at = event.at.max(member.time);
    member.time = at;
    step_at(program, member, index, event, at, output)
}

fn step_at(
    program: &Program,
    member: &mut Member,
    index: MemberIndex,
    event: &Event,
    at: Time,
    (out, budgets): Output,
) -> Result<(), Reject> {
    let mut apply = member_step(program, member, index, out, budgets);
    if let EventKind::Enroll {
        birthday,
        attributes,
    } = &event.kind
    {
        // A new member in the place, reusing what the place holds.
        apply.member.reset(program, at);
        apply.member.id.push_str(&event.member);
        apply.enroll(at, *birthday, attributes);
        apply.settle(at);
        return Ok(());
    }
    apply.catch_up(at);
    if apply.member.at_limit() {
        apply.settle(at);
        return Err(Reject::MemberAtLimit);
    }
    let result = match &event.kind {
        EventKind::Purchase(purchase) => apply.purchase(at, purchase),
        EventKind::Refund {
            order,
            amount,
            items,
        } => apply.refund(at, order, *amount, items),
        EventKind::Action(action) => {
            apply.action(at, *action);
            Ok(())
        }
        EventKind::Redeem { reward, partner } => apply.redeem(at, *reward, *partner),
        EventKind::Donate { charity, points } => apply.donate(at, *charity, *points),
        EventKind::Subscribe(plan) => apply.subscribe(at, *plan),
        EventKind::Cancel(plan) => apply.cancel(at, *plan),
        EventKind::Set {
            birthday,
            attributes,
            tier,
        } => {
            apply.set(at, *birthday, attributes, *tier);
            Ok(())
        }
        EventKind::Use(perk) => apply.use_perk(at, *perk),
        EventKind::Enroll { .. } | EventKind::Tick | EventKind::Refer { .. } => Ok(()),
    };
    // What the event started and is due at once (a tier's monthly
    // reward, a conversion) happens with it.
    apply.settle(at);
    result
}

/// A referral: one event for two members, the referrer's `referral`
/// and the friend's `being_referred`, each member's due work first and
/// what the event brought due after. Used by `Engine::apply` and by the
/// simulator when a referral brings a friend. On `Err` neither action
/// was applied.
pub fn refer(
    program: &Program,
    referrer: (&mut Member, MemberIndex),
    friend: (&mut Member, MemberIndex),
    at: Time,
    (out, budgets): Output,
) -> Result<(), Reject> {
    let ((referrer, r), (friend, f)) = (referrer, friend);
    member_step(program, referrer, r, out, budgets).catch_up(at);
    member_step(program, friend, f, out, budgets).catch_up(at);
    if referrer.at_limit() || friend.at_limit() {
        return Err(Reject::MemberAtLimit);
    }
    member_step(program, referrer, r, out, budgets).action(at, Action::Referral.id());
    member_step(program, friend, f, out, budgets).action(at, Action::BeingReferred.id());
    member_step(program, referrer, r, out, budgets).settle(at);
    member_step(program, friend, f, out, budgets).settle(at);
    Ok(())
}

/// Where a step's work goes beyond its member: the effects, and the
/// budgets all members share.
pub type Output<'o> = (&'o mut Vec<Effect>, &'o mut Budgets);

/// The engine's work on one member, its effects into `out`.
fn member_step<'a>(
    program: &'a Program,
    member: &'a mut Member,
    index: MemberIndex,
    out: &'a mut Vec<Effect>,
    budgets: &'a mut Budgets,
) -> Apply<'a> {
    Apply {
        program,
        member,
        index,
        out,
        scheduled: false,
        pending_order: None,
        budgets,
    }
}

/// Runs the member's scheduled work due by `at` (expiry, fees, monthly
/// rewards, tier reviews, birthdays): what a `tick` does to each member.
pub fn catch_up(
    program: &Program,
    member: &mut Member,
    index: MemberIndex,
    at: Time,
    (out, budgets): Output,
) {
    member_step(program, member, index, out, budgets).catch_up(at);
}

/// The most a member's points or reward money issued, or spend, may add
/// up to (2^60, about 1.15 × 10^18): an event for a member past it is
/// rejected. One event earns at most about 10^17 within the checker's
/// bounds and the largest amount an event carries, so a member below it
/// can never reach the end of the ledger's 64-bit integers.
pub const MEMBER_LIMIT: i64 = 1 << 60;

impl Member {
    /// Erases the member's personal data: the id becomes `pseudonym`,
    /// the birthday and attributes are dropped; everything counted stays.
    pub fn erase(&mut self, pseudonym: &str) {
        self.id.clear();
        self.id.push_str(pseudonym);
        self.birthday = None;
        self.attributes = 0;
        self.next_birthday = Time::NEVER;
    }

    /// Whether the member's numbers have reached [`MEMBER_LIMIT`].
    pub fn at_limit(&self) -> bool {
        let t = &self.totals;
        let counted = &self.counters.total;
        [
            t.points_issued,
            t.money_issued,
            self.points.balance,
            self.money.balance,
            counted.spend,
            counted.points,
        ]
        .into_iter()
        .any(|n| n.saturating_abs() >= MEMBER_LIMIT)
    }

    /// Whether a rule standing in `scope` applies to the member now.
    pub fn in_scope(&self, scope: Scope) -> bool {
        match scope {
            Scope::Program => true,
            Scope::Tier(t) => self.tier == Some(t),
            Scope::Membership(m) => self.memberships[usize::from(m)].is_active(),
        }
    }
}
