import ReflexNode

/// Did-you-mean suggestions for misspelt keys and values.
enum Suggestion {
    /// The candidate closest to `input`, if one is close enough to be a plausible typo.
    ///
    /// Comparison ignores case, `-` and `_` (so `max_packet_size` matches `maxPacketSize`);
    /// a candidate is close if its edit distance is at most a third of its length (at least 1), or
    /// if the input is a prefix of it of three or more characters (`warn` → `warning`).
    /// - Complexity: O(n·m) per candidate (Levenshtein distance, Wagner–Fischer).
    static func closest(to input: String, in candidates: some Sequence<String>) -> String? {
        let normalizedInput = normalize(input)
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let normalizedCandidate = normalize(candidate)
            let distance = editDistance(normalizedInput, normalizedCandidate)
            let isPrefix = normalizedInput.count >= 3 && normalizedCandidate.starts(with: normalizedInput)
            let isClose = distance <= max(1, normalizedCandidate.count / 3)
            guard isClose || isPrefix else { continue }
            let score = isPrefix ? min(distance, 1) : distance
            if let current = best, current.distance <= score { continue }
            best = (candidate, score)
        }
        return best?.candidate
    }

    static func normalize(_ text: String) -> [Character] {
        Array(text.lowercased().filter { $0 != "-" && $0 != "_" })
    }

    /// Levenshtein distance between two character arrays.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
