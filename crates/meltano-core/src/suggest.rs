//! "Did you mean" suggestions, scored like Python's `difflib.get_close_matches` (as click uses them).

/// Up to `n` candidates whose similarity ratio to `word` is at least `cutoff`, best first.
pub fn close_matches<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    n: usize,
    cutoff: f64,
) -> Vec<&'a str> {
    let mut scored: Vec<(f64, &str)> = candidates
        .into_iter()
        .map(|c| (ratio(word, c), c))
        .filter(|(score, _)| *score >= cutoff)
        .collect();
    // difflib sorts by score, then by the candidate itself, both descending.
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| b.1.cmp(a.1)));
    scored.into_iter().take(n).map(|(_, c)| c).collect()
}

/// `SequenceMatcher(None, a, b).ratio()`: twice the matched characters over the total length.
pub fn ratio(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let total = a.len() + b.len();
    if total == 0 {
        return 1.0;
    }
    2.0 * matched(&a, &b) as f64 / total as f64
}

/// Characters matched by difflib's recursive longest-common-block search.
fn matched(a: &[char], b: &[char]) -> usize {
    let (mut best_i, mut best_j, mut best_len) = (0, 0, 0);
    let mut lengths = vec![0usize; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        let mut next = vec![0usize; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            if ca == cb {
                let len = lengths[j] + 1;
                next[j + 1] = len;
                if len > best_len {
                    (best_i, best_j, best_len) = (i + 1 - len, j + 1 - len, len);
                }
            }
        }
        lengths = next;
    }
    if best_len == 0 {
        return 0;
    }
    best_len
        + matched(&a[..best_i], &b[..best_j])
        + matched(&a[best_i + best_len..], &b[best_j + best_len..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_click_suggestions() {
        let commands = [
            "add", "init", "install", "invoke", "state", "select", "schedule", "run",
        ];
        assert_eq!(
            close_matches("instal", commands, 3, 0.5),
            ["install", "init", "state"]
        );
        assert!(close_matches("foo", commands, 3, 0.5).is_empty());
    }
}
