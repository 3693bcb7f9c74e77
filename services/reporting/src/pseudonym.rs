//! Keyed-hash pseudonyms: the reporting read model is keyed by these, never by a referral id.
//!
//! HMAC-SHA256 of the referral id under a secret key. Without the key a pseudonym cannot be
//! turned back into a referral id (nor checked against a guessed one); with the same key the
//! same referral always gets the same pseudonym, so a rebuild gives identical rows.

use hmac::{Hmac, KeyInit, Mac};
use linkway_platform::secret::{Secret, to_hex};
use sha2::Sha256;
use uuid::Uuid;

/// Turns referral ids into pseudonyms under one secret key.
#[derive(Clone)]
pub struct Pseudonymiser {
    /// The HMAC key; never printed (see [`Secret`]).
    key: Secret,
}

impl std::fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pseudonymiser")
            .field("key", &self.key)
            .finish()
    }
}

impl Pseudonymiser {
    pub fn new(key: Secret) -> Pseudonymiser {
        Pseudonymiser { key }
    }

    /// The pseudonym of a referral: 64 hex digits.
    pub fn referral(&self, referral_id: Uuid) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.key.expose().as_bytes())
            .expect("HMAC takes a key of any length");
        // A domain tag keeps pseudonyms of referrals apart from any other use of the key.
        mac.update(b"linkway.referral:");
        mac.update(referral_id.as_bytes());
        to_hex(&mac.finalize().into_bytes())
    }

    /// The key of an onward connection within its journey: 16 hex digits of a keyed hash,
    /// so a journey's connections cannot be matched to the log's connection ids either.
    pub fn connection(&self, connection_id: Uuid) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.key.expose().as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(b"linkway.connection:");
        mac.update(connection_id.as_bytes());
        let mut hex = to_hex(&mac.finalize().into_bytes());
        hex.truncate(16);
        hex
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_same_pseudonym_other_key_other_pseudonym() {
        let id = Uuid::now_v7();
        let a = Pseudonymiser::new(Secret::new("key-one"));
        let b = Pseudonymiser::new(Secret::new("key-two"));
        assert_eq!(a.referral(id), a.referral(id));
        assert_ne!(a.referral(id), b.referral(id));
        assert_ne!(a.referral(id), a.referral(Uuid::now_v7()));
        assert_eq!(a.referral(id).len(), 64);
        assert!(!a.referral(id).contains(&id.simple().to_string()));
    }

    #[test]
    fn matches_an_independent_hmac_computation() {
        // RFC 2104 HMAC over the tagged id, computed by hand from SHA-256.
        use sha2::Digest;
        let key = b"k";
        let id = Uuid::nil();
        let mut block = [0u8; 64];
        block[..key.len()].copy_from_slice(key);
        let ipad: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
        let opad: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
        let mut inner = Sha256::new();
        inner.update(&ipad);
        inner.update(b"linkway.referral:");
        inner.update(id.as_bytes());
        let inner = inner.finalize();
        let mut outer = Sha256::new();
        outer.update(&opad);
        outer.update(inner);
        let expected = to_hex(&outer.finalize());
        assert_eq!(Pseudonymiser::new(Secret::new("k")).referral(id), expected);
    }

    #[test]
    fn debug_never_shows_the_key() {
        let p = Pseudonymiser::new(Secret::new("very-secret"));
        assert!(!format!("{p:?}").contains("very-secret"));
    }
}
