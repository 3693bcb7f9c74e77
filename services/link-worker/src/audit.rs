//! The access log: every read of a person's details is attributable to a token (and the
//! user it names). One row per case shown, written set-wise.

use linkway_platform::auth::Principal;
use uuid::Uuid;

/// Records that `principal` saw `cases` through `operation`.
pub async fn record_access(
    client: &tokio_postgres::Client,
    principal: &Principal,
    operation: &str,
    cases: &[Uuid],
) -> Result<(), tokio_postgres::Error> {
    if cases.is_empty() {
        return Ok(());
    }
    client
        .execute(
            "INSERT INTO case_access (referral_id, organisation_id, user_id, role, token_id, operation)
             SELECT id, $2, $3, $4, $5, $6 FROM UNNEST($1::uuid[]) AS t(id)",
            &[
                &cases,
                &principal.organisation_id,
                &principal.user_id,
                &principal.role.as_str(),
                &principal.token_id,
                &operation,
            ],
        )
        .await?;
    Ok(())
}
