//! The audit read model (schema `audit`): one row per event and referral, reads
//! (`audit.recorded`, its `operation`) and commands (`referral.*`, `case.*`, `person.*`,
//! their event type as the operation) alike, so "who did or saw what of whose record" is
//! one table. `parties` holds which organisations sent or received each referral, so an
//! organisation's IG lead sees what others did with its referrals.
//!
//! Rows are only ever inserted: a trigger refuses UPDATE, DELETE and TRUNCATE of
//! `entries`, whoever asks. The service's database role owns its read models' schemas
//! (a rebuild drops and swaps them), so grants cannot take that from it; the trigger
//! stops any statement of the code from changing the trail, and the log itself (no user
//! may delete from the stream) is what makes it tamper-evident: a rebuild writes it again.

use linkway_events::Event;
use linkway_events::audit::AuditEvent;
use linkway_events::referral::ReferralEvent;
use time::OffsetDateTime;
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::projection::{Projected, Projection, ProjectionError};

/// The audit trail's projection, installed by every service that holds personal data.
pub struct AuditTrail;

impl AuditTrail {
    pub const NAME: &'static str = "audit";
}

impl Projection for AuditTrail {
    const NAME: &'static str = AuditTrail::NAME;
    const VERSION: i32 = 1;
    const TABLES: &'static str = "
        CREATE TABLE IF NOT EXISTS entries (
            sequence        bigint NOT NULL,
            referral_id     uuid NOT NULL,
            recorded_at     timestamptz NOT NULL,
            organisation_id text NOT NULL,
            user_id         text,
            role            text NOT NULL,
            -- audit.recorded: the operationId that showed the data; else the event type.
            operation       text NOT NULL,
            event_type      text NOT NULL,
            reason          text,
            PRIMARY KEY (sequence, referral_id)
        );
        CREATE INDEX IF NOT EXISTS entries_by_referral ON entries (referral_id, sequence);
        CREATE INDEX IF NOT EXISTS entries_by_organisation ON entries (organisation_id, sequence);
        CREATE INDEX IF NOT EXISTS entries_by_user ON entries (user_id, sequence);
        CREATE INDEX IF NOT EXISTS entries_by_time ON entries (recorded_at);
        CREATE TABLE IF NOT EXISTS parties (
            referral_id     uuid NOT NULL,
            organisation_id text NOT NULL,
            PRIMARY KEY (referral_id, organisation_id)
        );
        CREATE INDEX IF NOT EXISTS parties_by_organisation ON parties (organisation_id, referral_id);
        -- Created once, never replaced: a role that did not create them (the migration
        -- role on a first start, the service's role afterwards) may not replace them.
        DO $do$
        BEGIN
            IF to_regprocedure(format('%I.refuse_change()', current_schema())) IS NULL THEN
                CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
                BEGIN
                    RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP;
                END $fn$;
            END IF;
            IF NOT EXISTS (SELECT 1 FROM pg_trigger
                           WHERE tgrelid = 'entries'::regclass AND tgname = 'entries_append_only') THEN
                CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
                    FOR EACH ROW EXECUTE FUNCTION refuse_change();
            END IF;
            IF NOT EXISTS (SELECT 1 FROM pg_trigger
                           WHERE tgrelid = 'entries'::regclass AND tgname = 'entries_never_truncated') THEN
                CREATE TRIGGER entries_never_truncated BEFORE TRUNCATE ON entries
                    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
            END IF;
        END $do$;";

    fn reads(aggregate_kind: &str) -> bool {
        matches!(aggregate_kind, "audit" | "referral" | "case" | "person")
    }

    async fn apply(
        &self,
        tx: &Transaction<'_>,
        batch: &[Projected],
    ) -> Result<(), ProjectionError> {
        let mut rows = Rows::default();
        let mut parties: (Vec<Uuid>, Vec<String>) = (Vec::new(), Vec::new());
        for projected in batch {
            let e = &projected.envelope;
            let sequence = projected.sequence as i64;
            match &projected.event {
                Event::Audit(AuditEvent::Recorded(read)) => {
                    for id in &read.referral_ids {
                        let reason = read.reason.map(|r| r.as_str().to_owned());
                        rows.push(sequence, *id, projected, &read.operation, reason);
                    }
                }
                event => {
                    let id = Uuid::parse_str(&e.aggregate_id).map_err(|_| {
                        ProjectionError::Park(format!(
                            "{} has an aggregate id that is not a referral id",
                            e.event_type
                        ))
                    })?;
                    rows.push(sequence, id, projected, &e.event_type, None);
                    if let Some(org) = party(event) {
                        parties.0.push(id);
                        parties.1.push(org.to_owned());
                    }
                }
            }
        }
        if !rows.sequence.is_empty() {
            tx.execute(
                "INSERT INTO entries (sequence, referral_id, recorded_at, organisation_id, user_id,
                                      role, operation, event_type, reason)
                 SELECT * FROM UNNEST($1::bigint[], $2::uuid[], $3::timestamptz[], $4::text[],
                                      $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
                 ON CONFLICT DO NOTHING",
                &[
                    &rows.sequence,
                    &rows.referral_id,
                    &rows.recorded_at,
                    &rows.organisation_id,
                    &rows.user_id,
                    &rows.role,
                    &rows.operation,
                    &rows.event_type,
                    &rows.reason,
                ],
            )
            .await?;
        }
        if !parties.0.is_empty() {
            tx.execute(
                "INSERT INTO parties (referral_id, organisation_id)
                 SELECT * FROM UNNEST($1::uuid[], $2::text[]) ON CONFLICT DO NOTHING",
                &[&parties.0, &parties.1],
            )
            .await?;
        }
        Ok(())
    }
}

/// The organisation an event makes a party to its referral: who sent it, and each
/// service it was routed to.
fn party(event: &Event) -> Option<&str> {
    match event {
        Event::Referral(ReferralEvent::Received(r)) => Some(&r.referrer_organisation_id),
        Event::Referral(ReferralEvent::Routed(r)) => Some(&r.link_worker_organisation_id),
        _ => None,
    }
}

/// A batch's rows, column by column (one statement per batch).
#[derive(Default)]
struct Rows {
    sequence: Vec<i64>,
    referral_id: Vec<Uuid>,
    recorded_at: Vec<OffsetDateTime>,
    organisation_id: Vec<String>,
    user_id: Vec<Option<String>>,
    role: Vec<String>,
    operation: Vec<String>,
    event_type: Vec<String>,
    reason: Vec<Option<String>>,
}

impl Rows {
    fn push(
        &mut self,
        sequence: i64,
        referral_id: Uuid,
        p: &Projected,
        operation: &str,
        reason: Option<String>,
    ) {
        let e = &p.envelope;
        self.sequence.push(sequence);
        self.referral_id.push(referral_id);
        self.recorded_at.push(e.recorded_at);
        self.organisation_id.push(e.actor.organisation_id.clone());
        self.user_id.push(e.actor.user_id.clone());
        self.role.push(e.actor.role.as_str().to_owned());
        self.operation.push(operation.to_owned());
        self.event_type.push(e.event_type.clone());
        self.reason.push(reason);
    }
}
