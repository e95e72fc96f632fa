import FlareCluster
import FlareStorage

/// A broken invariant: its name and what exactly was seen.
struct Violation: CustomStringConvertible {
    let invariant: String
    let detail: String
    var description: String { "\(invariant): \(detail)" }
}

/// The invariants checked once faults have stopped and the cluster has had `quiescePhase` to
/// settle. Each is sound: it only flags outcomes no correct execution can produce. Terms:
/// * an operation is *acked* if its client got a success reply, *failed* if it got a reply
///   saying it had no effect, *uncertain* otherwise (timeout, error after executing);
/// * its *effect deadline* is its completion time if acked or failed, +∞ if uncertain (a request
///   still travelling may be applied after the client gave up);
/// * the *final state* of a key is read from the master of the final index map; every set/cas
///   value and append token is unique, so the state names its *base* (the set or cas that
///   created it) and its appends.
extension World {
    func check() -> [Violation] {
        var found: [Violation] = []
        found += checkSingleAcknowledger()
        found += checkReplicas()
        found += checkHistory()
        return found
    }

    /// **single acknowledger**: a master acts under the map that made it master. For each
    /// partition, in order of execution time (the moment a node acts as master), once node B
    /// executed a write it acknowledged under map version vb, no other node executes one it
    /// acknowledges under an older map: that would be two masters acting over overlapping periods,
    /// the older one after the newer one had started. (Mastership may return to a node —
    /// `rejoin-as-slave` brings a failed master back as a slave, which can be promoted again — but
    /// only under a newer map.)
    func checkSingleAcknowledger() -> [Violation] {
        var newest: [Int: AckRecord] = [:]
        let ordered = acks.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
        for ack in ordered {
            if let top = newest[ack.partition], top.node != ack.node, ack.mapVersion < top.mapVersion {
                return [Violation(invariant: "single acknowledger",
                                  detail: "n\(ack.node) acknowledged op\(ack.opID) for partition \(ack.partition), executed at \(ack.time) under map v\(ack.mapVersion), after n\(top.node) had executed op\(top.opID) at \(top.time) under v\(top.mapVersion)")]
            }
            if newest[ack.partition].map({ ack.mapVersion >= $0.mapVersion }) ?? true { newest[ack.partition] = ack }
        }
        return []
    }

    /// The final index map's active master and active slaves of partition 0.
    func finalReplicas() -> (master: Int?, slaves: [Int]) {
        let map = index.state.map
        var master: Int?
        var slaves: [Int] = []
        for entry in map.entries where entry.partition == 0 && entry.state == .active {
            guard let n = node(forKey: entry.nodeKey) else { continue }
            if entry.role == .master { master = n } else if entry.role == .slave { slaves.append(n) }
        }
        return (master, slaves)
    }

    /// **replicas identical**: the active master and every active slave of the partition hold
    /// the same items — same keys, values, flags and versions.
    func checkReplicas() -> [Violation] {
        let (master, slaves) = finalReplicas()
        guard let master else {
            return [Violation(invariant: "available", detail: "no active master after healing: [\(World.brief(index.state.map))]")]
        }
        var found: [Violation] = []
        for slave in slaves {
            for key in keys {
                let expected = readItem(nodes[master].store, key: key)
                let actual = readItem(nodes[slave].store, key: key)
                if expected != actual {
                    found.append(Violation(invariant: "replicas identical",
                                           detail: "\(key): master n\(master) has \(show(expected)), slave n\(slave) has \(show(actual))"))
                }
            }
            if nodes[slave].store.itemCount != nodes[master].store.itemCount {
                found.append(Violation(invariant: "replicas identical",
                                       detail: "n\(slave) holds \(nodes[slave].store.itemCount) records, master n\(master) \(nodes[master].store.itemCount)"))
            }
        }
        return found
    }

    func show(_ item: StoredItem?) -> String {
        guard let item else { return "nothing" }
        return "\(String(decoding: item.value, as: UTF8.self)) v\(item.version)"
    }

    /// Per key, against the final state at the master:
    /// * **known values**: every value and token in it was written by an operation that did not
    ///   fail for sure;
    /// * **applied at most once**: no append token appears twice; the counter is a sum of
    ///   distinct powers of two, each the delta of one incr that did not fail for sure (a
    ///   second application would carry into another bit);
    /// * **no lost sync write**: an acked sync write w is missing only if something written
    ///   after it may overwrite it: if the base's effect deadline is before w's invocation,
    ///   w (a set or cas) must be the base or (an append) be in it; for the counter every acked
    ///   sync incr is in it; an absent key needs a delete whose effect deadline is not before
    ///   the invocation of each acked sync set or cas;
    /// * **no deleted key back**: if an acked sync delete was invoked after the base's effect
    ///   deadline, the key cannot hold that base.
    func checkHistory() -> [Violation] {
        guard let master = finalReplicas().master else { return [] }
        var found: [Violation] = []
        var byToken: [String: Int] = [:]
        for op in history where !op.token.isEmpty { byToken[op.token] = op.id }
        for key in keys {
            let ops = history.filter { $0.key == key && $0.outcome != .pending }
            let item = readItem(nodes[master].store, key: key)
            if key == World.counterKey {
                found += checkCounter(item, ops)
                continue
            }
            guard let item else {
                let deletes = ops.filter { $0.kind == .delete && $0.outcome != .failed }
                for w in ops where (w.kind == .set || w.kind == .cas) && w.outcome == .acked && w.sync {
                    if deletes.allSatisfy({ $0.effectDeadline < w.invoke }) {
                        found.append(Violation(invariant: "no lost sync write",
                                               detail: "\(key) is absent but acked sync \(w.kind) op\(w.id) [\(w.invoke)-\(w.complete)] has no delete that could follow it"))
                    }
                }
                continue
            }
            let text = String(decoding: item.value, as: UTF8.self)
            let parts = text.split(separator: ".", omittingEmptySubsequences: true).map { String($0) + "." }
            var state: [OpRecord] = []
            for part in parts {
                guard let id = byToken[part], history[id].key == key else {
                    found.append(Violation(invariant: "known values", detail: "\(key)=\(text): \(part) was never written to it"))
                    continue
                }
                state.append(history[id])
            }
            guard let base = state.first, base.kind == .set || base.kind == .cas else {
                found.append(Violation(invariant: "known values", detail: "\(key)=\(text) does not start with a set or cas"))
                continue
            }
            if state.dropFirst().contains(where: { $0.kind != .append }) {
                found.append(Violation(invariant: "known values", detail: "\(key)=\(text) holds two set values"))
            }
            for op in state where op.outcome == .failed {
                found.append(Violation(invariant: "known values", detail: "\(key)=\(text) holds op\(op.id), which failed for sure"))
            }
            var seen: Set<Int> = []
            for op in state.dropFirst() where !seen.insert(op.id).inserted {
                found.append(Violation(invariant: "applied at most once", detail: "\(key)=\(text): append op\(op.id) applied twice"))
            }
            for w in ops where w.outcome == .acked && w.sync && w.invoke > base.effectDeadline {
                switch w.kind {
                case .set, .cas:
                    found.append(Violation(invariant: "no lost sync write",
                                           detail: "\(key)=\(text) from op\(base.id) (done at \(base.complete)), but acked sync \(w.kind) op\(w.id) was invoked after it at \(w.invoke)"))
                case .append where !seen.contains(w.id):
                    found.append(Violation(invariant: "no lost sync write",
                                           detail: "\(key)=\(text) lacks acked sync append op\(w.id) invoked at \(w.invoke) after its base op\(base.id) was done"))
                case .delete:
                    found.append(Violation(invariant: "no deleted key back",
                                           detail: "\(key)=\(text) from op\(base.id) (done at \(base.complete)), deleted by acked sync op\(w.id) invoked at \(w.invoke)"))
                default:
                    break
                }
            }
        }
        return found
    }

    private func checkCounter(_ item: StoredItem?, _ ops: [OpRecord]) -> [Violation] {
        guard let item, let value = UInt64(String(decoding: item.value, as: UTF8.self)) else {
            return [Violation(invariant: "known values", detail: "counter is \(show(item)), not a number")]
        }
        var found: [Violation] = []
        var possible: UInt64 = 0
        for op in ops where op.kind == .incr && op.outcome != .failed { possible |= op.delta }
        if value & ~possible != 0 {
            found.append(Violation(invariant: "applied at most once",
                                   detail: "counter \(value) has bits \(value & ~possible) no single application of a non-failed incr explains"))
        }
        for op in ops where op.kind == .incr && op.outcome == .acked && op.sync && value & op.delta == 0 {
            found.append(Violation(invariant: "no lost sync write", detail: "counter \(value) lacks acked sync incr op\(op.id) (+\(op.delta))"))
        }
        return found
    }
}
