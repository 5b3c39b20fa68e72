//! What a cached log must show before it is served, whatever stores it (this directory cache
//! today, an object store later): its size equals the size Buildkite states, its checksum matches
//! what was written with it, and it was written by this user into a place only this user can
//! write. A backend gathers the [`Facts`]; [`judge`] decides. A failed check is a [`Doubt`]: the
//! entry is dropped and the log downloaded again.

use std::fmt;

/// A fast streaming checksum (FNV-1a, 64 bits) over an entry's files: it catches corruption (a
/// torn write, a flipped byte), not planting — planting is what the size and owner checks are for.
#[derive(Debug, Clone, Copy)]
pub struct Checksum(u64);

impl Default for Checksum {
    fn default() -> Self {
        Checksum(0xcbf2_9ce4_8422_2325)
    }
}

impl Checksum {
    /// Adds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }

    /// The checksum as 16 hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// What a backend found out about an entry.
#[derive(Debug, Clone)]
pub struct Facts {
    /// Raw bytes the entry says it was made from.
    pub raw_bytes: u64,
    /// Whether the checksum written with it matches its contents.
    pub checksum_ok: bool,
    /// Why the place or the writer cannot be trusted, if it cannot (another owner, open modes, a
    /// symlink).
    pub foreign: Option<String>,
}

/// Why an entry is not served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Doubt {
    /// Buildkite states another size: a planted or stale copy.
    Size {
        /// What Buildkite states.
        stated: u64,
        /// What the entry holds.
        cached: u64,
    },
    /// Its contents do not match its checksum (corrupt index, text or metadata).
    Corrupt(String),
    /// Not written by this user in a private place.
    Foreign(String),
}

impl fmt::Display for Doubt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Doubt::Size { stated, cached } => {
                write!(
                    f,
                    "the cached copy holds {cached} bytes but Buildkite states {stated}, so it was downloaded again"
                )
            }
            Doubt::Corrupt(why) => write!(f, "the cached copy was damaged ({why}), so it was downloaded again"),
            Doubt::Foreign(why) => write!(f, "the cached copy is not trusted ({why}), so it was downloaded again"),
        }
    }
}

/// Whether an entry may be served, given the size Buildkite states for the log (`None` when it
/// states none: then only the checksum and the private place vouch for it).
pub fn judge(facts: &Facts, stated: Option<u64>) -> Result<(), Doubt> {
    if let Some(why) = &facts.foreign {
        return Err(Doubt::Foreign(why.clone()));
    }
    if !facts.checksum_ok {
        return Err(Doubt::Corrupt("its checksum does not match".into()));
    }
    match stated {
        Some(stated) if stated != facts.raw_bytes => Err(Doubt::Size { stated, cached: facts.raw_bytes }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_served_only_when_every_check_passes() {
        let mut sum = Checksum::default();
        sum.update(b"a");
        assert_eq!(sum.hex(), "af63dc4c8601ec8c");
        let good = Facts { raw_bytes: 10, checksum_ok: true, foreign: None };
        assert_eq!(judge(&good, Some(10)), Ok(()));
        assert_eq!(judge(&good, None), Ok(()));
        assert_eq!(judge(&good, Some(11)), Err(Doubt::Size { stated: 11, cached: 10 }));
        let corrupt = Facts { checksum_ok: false, ..good.clone() };
        assert!(matches!(judge(&corrupt, Some(10)), Err(Doubt::Corrupt(_))));
        let foreign = Facts { foreign: Some("owned by uid 7".into()), ..good };
        assert!(matches!(judge(&foreign, Some(10)), Err(Doubt::Foreign(_))));
    }
}
