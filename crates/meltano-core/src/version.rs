//! The Meltano version we are compatible with, and PEP 440 specifiers for `requires_meltano`.

use std::cmp::Ordering;
use std::fmt;

/// The Meltano release whose behaviour this binary reproduces; what `--version` and `requires_meltano` see.
pub const MELTANO_VERSION: &str = "4.4.1";

/// A PEP 440 version: release segments plus optional pre-, post- and dev-release parts.
#[derive(Debug, Clone)]
pub struct Version {
    release: Vec<u64>,
    pre: Option<(u8, u64)>,
    post: Option<u64>,
    dev: Option<u64>,
}

/// A version or specifier that does not follow PEP 440.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a valid PEP 440 {1}")]
pub struct InvalidVersion(pub String, pub &'static str);

impl Version {
    /// Parses `1.2.3`, `v4.0rc1`, `2.0.post1`, `3.1.dev2` (case-insensitive, with PEP 440's separators).
    pub fn parse(text: &str) -> Result<Version, InvalidVersion> {
        let invalid = || InvalidVersion(text.to_string(), "version");
        let s = text.trim().to_ascii_lowercase();
        let s = s.strip_prefix('v').unwrap_or(&s);
        let s = s.split('+').next().unwrap_or(s); // local versions compare as their public part
        let mut rest = s;
        let mut release = Vec::new();
        loop {
            let end = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if end == 0 {
                return Err(invalid());
            }
            release.push(rest[..end].parse().map_err(|_| invalid())?);
            rest = &rest[end..];
            match rest.strip_prefix('.') {
                Some(r) if r.starts_with(|c: char| c.is_ascii_digit()) => rest = r,
                _ => break,
            }
        }
        let mut version = Version {
            release,
            pre: None,
            post: None,
            dev: None,
        };
        while !rest.is_empty() {
            let trimmed = rest.trim_start_matches(['.', '-', '_']);
            let (tag, after) = split_tag(trimmed);
            let end = after
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(after.len());
            let number = if end == 0 {
                0
            } else {
                after[..end].parse().map_err(|_| invalid())?
            };
            match tag {
                "a" | "alpha" if version.pre.is_none() => version.pre = Some((0, number)),
                "b" | "beta" if version.pre.is_none() => version.pre = Some((1, number)),
                "rc" | "c" | "pre" | "preview" if version.pre.is_none() => {
                    version.pre = Some((2, number))
                }
                "post" | "r" | "rev" if version.post.is_none() => version.post = Some(number),
                "dev" if version.dev.is_none() => version.dev = Some(number),
                _ => return Err(invalid()),
            }
            rest = &after[end..];
        }
        Ok(version)
    }

    fn release_at(&self, i: usize) -> u64 {
        self.release.get(i).copied().unwrap_or(0)
    }

    /// The sort key of PEP 440: dev releases sort before pre-releases, which sort before the release.
    fn suffix_key(&self) -> (u8, u64, u8, u64, u8, u64) {
        let pre = match (self.pre, self.post, self.dev) {
            (Some((kind, n)), _, _) => (1 + kind, n),
            (None, None, Some(_)) => (0, 0),
            _ => (4, 0),
        };
        let post = self.post.map_or((0, 0), |n| (1, n));
        let dev = self.dev.map_or((1, 0), |n| (0, n));
        (pre.0, pre.1, post.0, post.1, dev.0, dev.1)
    }
}

fn split_tag(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(s.len());
    let after = s[end..].trim_start_matches(['.', '-', '_']);
    (&s[..end], after)
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let len = self.release.len().max(other.release.len());
        (0..len)
            .map(|i| self.release_at(i).cmp(&other.release_at(i)))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
            .then_with(|| self.suffix_key().cmp(&other.suffix_key()))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.release.iter().map(u64::to_string).collect();
        f.write_str(&parts.join("."))
    }
}

/// A comma-separated PEP 440 specifier set such as `>=3.0,<5` or `~=4.2`.
#[derive(Debug, Clone)]
pub struct VersionSpecifiers(Vec<(Operator, String)>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Compatible,
    Equal,
    NotEqual,
    LessEqual,
    GreaterEqual,
    Less,
    Greater,
    Arbitrary,
}

impl VersionSpecifiers {
    /// Parses a specifier set; an empty string allows every version.
    pub fn parse(text: &str) -> Result<VersionSpecifiers, InvalidVersion> {
        let invalid = || InvalidVersion(text.to_string(), "specifier");
        let mut clauses = Vec::new();
        for clause in text.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            let (op, rest) = [
                ("===", Operator::Arbitrary),
                ("~=", Operator::Compatible),
                ("==", Operator::Equal),
                ("!=", Operator::NotEqual),
                ("<=", Operator::LessEqual),
                (">=", Operator::GreaterEqual),
                ("<", Operator::Less),
                (">", Operator::Greater),
            ]
            .into_iter()
            .find_map(|(prefix, op)| clause.strip_prefix(prefix).map(|rest| (op, rest.trim())))
            .ok_or_else(invalid)?;
            let wildcard = rest.ends_with(".*");
            if wildcard && !matches!(op, Operator::Equal | Operator::NotEqual) {
                return Err(invalid());
            }
            if op != Operator::Arbitrary {
                Version::parse(rest.trim_end_matches(".*")).map_err(|_| invalid())?;
            }
            if op == Operator::Compatible && !rest.contains('.') {
                return Err(invalid());
            }
            clauses.push((op, rest.to_string()));
        }
        Ok(VersionSpecifiers(clauses))
    }

    /// Whether `version` satisfies every clause.
    pub fn contains(&self, version: &Version) -> bool {
        self.0
            .iter()
            .all(|(op, spec)| clause_allows(*op, spec, version))
    }
}

fn clause_allows(op: Operator, spec: &str, version: &Version) -> bool {
    if op == Operator::Arbitrary {
        return spec == version.to_string();
    }
    let Ok(target) = Version::parse(spec.trim_end_matches(".*")) else {
        return false;
    };
    let prefix_match =
        |v: &Version| (0..target.release.len()).all(|i| v.release_at(i) == target.release_at(i));
    match op {
        Operator::Equal if spec.ends_with(".*") => prefix_match(version),
        Operator::NotEqual if spec.ends_with(".*") => !prefix_match(version),
        Operator::Equal => version == &target,
        Operator::NotEqual => version != &target,
        Operator::LessEqual => version <= &target,
        Operator::GreaterEqual => version >= &target,
        Operator::Less => version < &target,
        Operator::Greater => version > &target,
        Operator::Compatible => {
            let keep = target.release.len() - 1;
            version >= &target && (0..keep).all(|i| version.release_at(i) == target.release_at(i))
        }
        Operator::Arbitrary => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(spec: &str, version: &str) -> bool {
        VersionSpecifiers::parse(spec)
            .unwrap()
            .contains(&Version::parse(version).unwrap())
    }

    #[test]
    fn compares_like_pep_440() {
        let order = [
            "1.0.dev1",
            "1.0a1",
            "1.0b2",
            "1.0rc1",
            "1.0",
            "1.0.post1",
            "1.1",
        ];
        for pair in order.windows(2) {
            assert!(
                Version::parse(pair[0]).unwrap() < Version::parse(pair[1]).unwrap(),
                "{pair:?}"
            );
        }
        assert_eq!(
            Version::parse("4.4").unwrap(),
            Version::parse("4.4.0").unwrap()
        );
    }

    #[test]
    fn evaluates_specifiers() {
        assert!(allows(">=3.0,<5", "4.4.1"));
        assert!(!allows(">=5.0", "4.4.1"));
        assert!(allows("~=4.2", "4.4.1"));
        assert!(!allows("~=4.2.0", "4.4.1"));
        assert!(allows("==4.*", "4.4.1"));
        assert!(!allows("!=4.4.*", "4.4.1"));
        assert!(allows("", "4.4.1"));
    }

    #[test]
    fn rejects_nonsense() {
        assert!(VersionSpecifiers::parse("banana").is_err());
        assert!(VersionSpecifiers::parse(">=x").is_err());
        assert!(VersionSpecifiers::parse("~=4").is_err());
    }
}
