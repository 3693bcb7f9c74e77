//! The key for NHS number lookups. Intake finds repeat referrals of the same person by a
//! keyed hash (HMAC-SHA256) of the NHS number, so its read model never holds the number:
//! without the key, a copy of the table cannot be matched against a list of NHS numbers.
//! The key is made once per deployment and kept in intake's own database, outside any
//! projection schema, so rebuilds reuse it.

use hmac::{Hmac, KeyInit, Mac};
use linkway_platform::Database;
use sha2::Sha256;

/// The secret behind [`NhsNumberKey::hash`]. Never printed.
pub struct NhsNumberKey([u8; 32]);

impl std::fmt::Debug for NhsNumberKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NhsNumberKey(..)")
    }
}

impl NhsNumberKey {
    pub fn from_bytes(bytes: [u8; 32]) -> NhsNumberKey {
        NhsNumberKey(bytes)
    }

    /// Hex HMAC-SHA256 of a (normalised, 10-digit) NHS number.
    pub fn hash(&self, nhs_number: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"nhs-number\n");
        mac.update(nhs_number.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Loads the deployment's key, creating it on first start (first writer wins).
    pub async fn load_or_create(db: &Database) -> anyhow::Result<NhsNumberKey> {
        let mut fresh = [0u8; 32];
        getrandom::fill(&mut fresh).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let client = db.client().await?;
        client
            .execute(
                "INSERT INTO intake_secrets (name, secret) VALUES ('nhs_number_key', $1) ON CONFLICT DO NOTHING",
                &[&fresh.as_slice()],
            )
            .await?;
        let row = client
            .query_one(
                "SELECT secret FROM intake_secrets WHERE name = 'nhs_number_key'",
                &[],
            )
            .await?;
        let stored: Vec<u8> = row.get(0);
        let bytes: [u8; 32] = stored
            .try_into()
            .map_err(|_| anyhow::anyhow!("intake_secrets.nhs_number_key is not 32 bytes"))?;
        Ok(NhsNumberKey(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_keyed_and_stable() {
        let a = NhsNumberKey::from_bytes([1; 32]);
        let b = NhsNumberKey::from_bytes([2; 32]);
        assert_eq!(a.hash("9434765919"), a.hash("9434765919"));
        assert_ne!(a.hash("9434765919"), b.hash("9434765919"));
        assert_ne!(a.hash("9434765919"), a.hash("9990012342"));
        assert_eq!(a.hash("9434765919").len(), 64);
        assert!(!a.hash("9434765919").contains("9434765919"));
        assert_eq!(format!("{a:?}"), "NhsNumberKey(..)");
    }
}
