-- The ledger of `loyalty serve --ledger postgres://…`, shared by every
-- instance that serves the program. Applied once, by the first instance
-- to start, and recorded in schema_migrations.

-- The program the ledger is kept under: its hash, name and text.
CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

-- One row a member: their whole state, which each event's transaction
-- locks (SELECT … FOR UPDATE), so that one member's events are applied
-- one at a time whichever instance takes them.
CREATE TABLE members (
    id     text PRIMARY KEY,
    -- When the member's next scheduled work is due (seconds since
    -- 1970-01-01 UTC): the background ticks look members up by it.
    due    bigint NOT NULL,
    -- The state, in the binary form of the SQLite ledger's member
    -- snapshot, of the snapshot schema `schema`.
    schema integer NOT NULL,
    state  bytea NOT NULL
);
CREATE INDEX members_due ON members (due, id);

-- Every event the engine saw, applied or rejected, under its id: the
-- unique id is what makes each event apply exactly once.
CREATE TABLE events (
    seq     bigserial PRIMARY KEY,
    id      text NOT NULL UNIQUE,
    -- The event's time, as it was sent or stamped on arrival.
    at      bigint NOT NULL,
    -- The member, and the friend of a referral: an erasure finds the
    -- member's events by them.
    member  text NOT NULL,
    referee text,
    -- The event as sent (with `at` added when it came without).
    line    text NOT NULL,
    applied boolean NOT NULL,
    -- Why it was rejected.
    reason  text
);
CREATE INDEX events_member ON events (member);
CREATE INDEX events_referee ON events (referee) WHERE referee IS NOT NULL;

-- Ledger entries: every change to a member, with its reason.
CREATE TABLE entries (
    seq          bigserial PRIMARY KEY,
    -- The event that made it; NULL for scheduled work a background tick
    -- ran.
    event        bigint REFERENCES events (seq),
    member       text NOT NULL,
    at           bigint NOT NULL,
    kind         text NOT NULL,
    points       bigint NOT NULL,
    -- Cents.
    reward_money bigint NOT NULL,
    value        bigint NOT NULL,
    scheduled    boolean NOT NULL,
    reason       text NOT NULL
);
CREATE INDEX entries_member ON entries (member, seq);
CREATE INDEX entries_event ON entries (event);

-- The counters of the budgets all members share (one row, JSON), locked
-- by each event of a program that has any.
CREATE TABLE budgets (
    id       integer PRIMARY KEY,
    counters text NOT NULL
);

-- Pseudonyms for erased members.
CREATE SEQUENCE erasures;
