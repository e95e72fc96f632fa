import Foundation

/// The verdicts on a finished shared-key run. Every check is sound: it only flags a final state
/// that no correct (linearizable, exactly-once) replicated store could have produced from the
/// recorded history, treating every uncertain operation as possibly applied at any moment after
/// it was sent — or never.
///
/// Notation, per operation `o`: `sent(o)`, and `end(o)` = its reply time if it was acknowledged or
/// refused, +∞ if uncertain (it may still be applied later). An acknowledged `o` took effect at one
/// point in [sent(o), reply(o)]; a refused one did nothing; an uncertain one took effect at most
/// once, at a point ≥ sent(o), or never. An operation `w` can be ordered after an acknowledged `o`
/// only if end(w) ≥ sent(o); if end(w) < sent(o), `w` surely took effect before `o`.
struct SharedKeyChecks {
    /// Check name → one entry per offending key (with its relevant history).
    private(set) var violations: [String: [String]] = [:]
    static let names = ["a-replicas-identical", "b-no-lost-write", "c-incr-exactly-once", "d-append-exactly-once", "e-availability"]

    mutating func flag(_ check: String, _ text: String) { violations[check, default: []].append(text) }

    var summary: String {
        Self.names.map { "\($0)=\(violations[$0]?.count ?? 0)" }.joined(separator: " ")
    }

    /// The operations on `key`, oldest first, the last `limit` of them, one per line.
    static func listing(_ ops: [SharedOp], limit: Int = 14, marking: [SharedOp] = []) -> String {
        let shown = ops.suffix(limit)
        var lines = ops.count > limit ? ["    … \(ops.count - limit) earlier"] : []
        for op in shown { lines.append("    " + op.description) }
        for op in marking where !shown.contains(where: { $0.sent == op.sent && $0.client == op.client }) {
            lines.append("    (earlier, relevant) " + op.description)
        }
        return lines.joined(separator: "\n")
    }

    /// a. The master and every active slave hold the same items: value, flags and version.
    mutating func checkReplicas(_ dumps: [(node: String, items: [String: DumpedItem])], history: [SharedOp]) {
        guard let reference = dumps.first else { return }
        let keys = Set(dumps.flatMap { $0.items.keys }).sorted()
        for key in keys {
            let values = dumps.map { $0.items[key] }
            guard values.contains(where: { $0 != reference.items[key] }) else { continue }
            let per = zip(dumps, values).map { "  \($0.0.node): \($0.1.map(String.init(describing:)) ?? "absent")" }
            let ops = history.filter { $0.key == key }
            flag("a-replicas-identical", "\(key):\n" + per.joined(separator: "\n") + "\n" + Self.listing(ops))
        }
    }

    /// b and d for one data key, given its final value (nil: absent).
    ///
    /// b. The final state must be explainable by the last overwrite. Overwrites are set, cas and
    /// delete; appends only extend.
    /// * Present with value `base(,token)*`: `base` is unique to one set/cas `w` that was not
    ///   refused, and no acknowledged overwrite `o ≠ w` was sent after `w` could have taken effect:
    ///   sent(o) ≤ end(w) for all of them (else `o` surely came after `w` and replaced it: a lost
    ///   acknowledged write, or a key resurrected after an acknowledged delete).
    /// * Absent: either no operation on the key was ever acknowledged (the initial state), or some
    ///   delete `d` that was not refused has end(d) ≥ sent(o) for every acknowledged operation
    ///   `o ≠ d` on the key, appends included (an acknowledged append proves the key existed then).
    ///
    /// d. The tokens after `base` come from appends applied exactly once to `w`'s value:
    /// * no token appears twice;
    /// * each token belongs to an append that was not refused, with end(a) ≥ sent(w) (an append
    ///   that surely finished before `w` started was overwritten by `w`);
    /// * tokens of two acknowledged appends with reply(a1) < sent(a2) appear in that order;
    /// * every acknowledged append `a` with sent(a) > reply(w), `w` acknowledged, is present: it
    ///   surely came after `w`, and `w` being the final base, nothing overwrote it.
    mutating func checkDataKey(_ key: String, final: String?, history: [SharedOp]) {
        let ops = history.filter { $0.key == key }.sorted { $0.sent < $1.sent }
        let applied = ops.filter { $0.outcome != .refused }
        let ackedOverwrites = ops.filter { $0.outcome == .acked && $0.kind != .append }
        guard let final else {
            let acked = ops.filter { $0.outcome == .acked }
            if acked.isEmpty { return }
            let deletes = applied.filter { $0.kind == .delete }
            let explained = deletes.contains { d in acked.allSatisfy { $0.sent == d.sent && $0.client == d.client || d.effectEnd >= $0.sent } }
            if !explained {
                let latest = acked.max { $0.sent < $1.sent }!
                flag("b-no-lost-write", "\(key): absent, but no delete can be ordered after the acknowledged \(latest)\n" + Self.listing(ops))
            }
            return
        }
        let parts = final.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let base = parts[0]
        guard let w = applied.first(where: { ($0.kind == .set || $0.kind == .cas) && $0.value == base }) else {
            let refused = ops.first { ($0.kind == .set || $0.kind == .cas) && $0.value == base }
            flag("b-no-lost-write", "\(key): final value \(final) has a base that no applied set/cas wrote\(refused.map { " (refused: \($0))" } ?? "")\n" + Self.listing(ops))
            return
        }
        let later = ackedOverwrites.filter { !($0.sent == w.sent && $0.client == w.client) && $0.sent > w.effectEnd }
        if !later.isEmpty {
            flag("b-no-lost-write", "\(key): final value \(final) comes from \(w),\n  but \(later.count) acknowledged overwrite(s) were sent after it finished, the last: \(later.last!)\n" + Self.listing(ops, marking: [w]))
        }

        let tokens = Array(parts.dropFirst())
        var problems: [String] = []
        var seen = Set<String>()
        var appendOf: [String: SharedOp] = [:]
        for op in ops where op.kind == .append { appendOf[op.value] = op }
        for token in tokens {
            if !seen.insert(token).inserted { problems.append("token \(token) appears twice") }
            guard let a = appendOf[token] else { problems.append("token \(token) from no append of this key"); continue }
            if a.outcome == .refused { problems.append("token \(token) from a refused \(a)") }
            if a.effectEnd < w.sent { problems.append("token \(token) from \(a), which finished before the base's write started") }
        }
        let positions = Dictionary(tokens.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { first, _ in first })
        let ackedAppends = ops.filter { $0.kind == .append && $0.outcome == .acked }
        for a1 in ackedAppends {
            for a2 in ackedAppends where a1.replied < a2.sent {
                if let p1 = positions[a1.value], let p2 = positions[a2.value], p1 > p2 {
                    problems.append("token \(a2.value) precedes \(a1.value), whose append finished before it was sent")
                }
            }
        }
        if w.outcome == .acked {
            for a in ackedAppends where a.sent > w.replied && positions[a.value] == nil {
                problems.append("acknowledged append lost: \(a)")
            }
        }
        if !problems.isEmpty {
            flag("d-append-exactly-once", "\(key): final value \(final), base from \(w)\n  " + problems.joined(separator: "\n  ") + "\n" + Self.listing(ops, marking: [w]))
        }
    }

    /// c. A counter created at 0 and only incremented by 1 ends within [acked, acked + uncertain];
    /// acknowledged increments return distinct values (each applied once), none above the final value.
    mutating func checkCounter(_ key: String, final: String?, history: [SharedOp]) {
        let ops = history.filter { $0.key == key }
        let acked = ops.filter { $0.outcome == .acked }
        let uncertain = ops.filter { $0.outcome == .uncertain }.count
        let refused = ops.filter { $0.outcome == .refused }
        var problems: [String] = []
        guard let final, let value = Int(final) else {
            flag("c-incr-exactly-once", "\(key): final value \(final ?? "absent") is not a number; \(acked.count) acknowledged increments\n" + Self.listing(ops))
            return
        }
        if value < acked.count { problems.append("final \(value) < \(acked.count) acknowledged increments: \(acked.count - value) lost") }
        if value > acked.count + uncertain { problems.append("final \(value) > \(acked.count) acknowledged + \(uncertain) uncertain: \(value - acked.count - uncertain) applied twice") }
        let returned = acked.compactMap { Int($0.value) }
        let duplicates = Dictionary(grouping: returned, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
        if !duplicates.isEmpty { problems.append("\(duplicates.count) values returned by more than one increment, e.g. \(duplicates.prefix(5))") }
        if let top = returned.max(), top > value { problems.append("an increment returned \(top) > final \(value)") }
        if !refused.isEmpty { problems.append("\(refused.count) increments answered NOT_FOUND on a counter that exists since the start") }
        if !problems.isEmpty {
            // Both sides of the first duplicated values, and the operations whose outcome is not plain.
            let firstDuplicates = Set(duplicates.prefix(3))
            let shown = ops.filter { $0.outcome != .acked || firstDuplicates.contains(Int($0.value) ?? -1) }
            flag("c-incr-exactly-once", "\(key): " + problems.joined(separator: "; ") + "\n" + Self.listing(shown.sorted { $0.sent < $1.sent }, limit: 20))
        }
    }
}
