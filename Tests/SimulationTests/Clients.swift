/// Clients: each runs one operation at a time against a random node (the master, or another
/// node that forwards to it), records invoke and completion times and the outcome.
/// Values are unique per operation so that the final state names the operations that made it:
/// a set or cas writes `S<op>.`, an append adds `A<op>.`, and the counter key is only
/// incremented, each time by a distinct power of two.

enum OpKind: String { case set, cas, delete, append, incr }

enum OpOutcome: Equatable {
    case pending
    /// The cluster acknowledged it: it took effect.
    case acked
    /// It certainly had no effect (refused before executing, or NOT_STORED/NOT_FOUND/EXISTS).
    case failed
    /// Unknown: it may take effect, even later than its recorded completion.
    case uncertain
}

struct OpRecord {
    let id: Int
    let client: Int
    let kind: OpKind
    let key: String
    /// The set/cas value or append token; empty for delete and incr.
    let token: String
    let delta: UInt64
    let sync: Bool
    let invoke: Int64
    var complete: Int64 = .max
    var outcome: OpOutcome = .pending

    /// Latest moment it can have taken effect: unknown outcomes may apply arbitrarily late.
    var effectDeadline: Int64 { outcome == .uncertain || outcome == .pending ? .max : complete }
}

final class SimClient {
    let id: Int
    var current: Int?
    /// A cas waits for a `gets` of its key first.
    var casPlan: (key: String, getsID: Int)?

    init(id: Int) { self.id = id }
}

extension World {
    func clientTick(_ c: Int) {
        let client = clients[c]
        guard client.current == nil, now < timing.faultPhase else { return }
        let key = keys[rng.below(keys.count)]
        let sync = rng.chance(700)
        let op: ClientOp
        let opID = history.count
        if key == World.counterKey {
            guard incrCount < 62 else { return scheduleClient(c) }
            incrCount += 1
            op = .incr(key: key, delta: 1 << UInt64(incrCount - 1))
            history.append(OpRecord(id: opID, client: c, kind: .incr, key: key, token: "", delta: 1 << UInt64(incrCount - 1), sync: sync, invoke: now))
        } else {
            switch rng.below(20) {
            case 0..<7:
                op = .set(key: key, value: "S\(opID).")
                history.append(OpRecord(id: opID, client: c, kind: .set, key: key, token: "S\(opID).", delta: 0, sync: sync, invoke: now))
            case 7..<10:
                op = .delete(key: key)
                history.append(OpRecord(id: opID, client: c, kind: .delete, key: key, token: "", delta: 0, sync: sync, invoke: now))
            case 10..<16:
                op = .append(key: key, token: "A\(opID).")
                history.append(OpRecord(id: opID, client: c, kind: .append, key: key, token: "A\(opID).", delta: 0, sync: sync, invoke: now))
            default:
                // gets first; the cas follows with the unique it returned. The gets is not a write
                // and is not recorded in the history.
                client.casPlan = (key, -1 - opID)
                client.current = -1 - opID
                sendRequest(c, ClientRequest(opID: -1 - opID, client: c, op: .gets(key: key), sync: false))
                return
            }
        }
        client.current = opID
        sendRequest(c, ClientRequest(opID: opID, client: c, op: op, sync: sync))
    }

    private func sendRequest(_ c: Int, _ request: ClientRequest) {
        let target = 1 + rng.below(nodeCount)
        log("c\(c) -> n\(target) op\(request.opID) \(World.describe(request.op))\(request.sync ? " sync" : "")")
        send(clientBase + c, target, .request(request))
        queue.push(now + timing.clientTimeout, .clientTimeout(client: c, opID: request.opID))
    }

    private func scheduleClient(_ c: Int) {
        queue.push(now + rng.range(2...60), .clientTick(client: c))
    }

    func receiveAtClient(_ c: Int, from: Endpoint, _ message: Message) {
        guard case .reply(let opID, let reply) = message, clients[c].current == opID else { return }
        let client = clients[c]
        client.current = nil
        if opID < 0 {
            // The gets before a cas.
            guard let plan = client.casPlan else { return scheduleClient(c) }
            client.casPlan = nil
            guard case .found(_, let unique) = reply else { return scheduleClient(c) }
            let casID = history.count
            let sync = rng.chance(700)
            history.append(OpRecord(id: casID, client: c, kind: .cas, key: plan.key, token: "S\(casID).", delta: 0, sync: sync, invoke: now))
            client.current = casID
            sendRequest(c, ClientRequest(opID: casID, client: c, op: .cas(key: plan.key, value: "S\(casID).", unique: unique), sync: sync))
            return
        }
        history[opID].complete = now
        switch reply {
        case .stored, .deleted, .counter, .found, .miss: history[opID].outcome = .acked
        case .noEffect, .refused: history[opID].outcome = .failed
        case .uncertain: history[opID].outcome = .uncertain
        }
        log("c\(c) op\(opID) \(history[opID].outcome) \(reply)")
        scheduleClient(c)
    }

    func clientTimeout(_ c: Int, opID: Int) {
        let client = clients[c]
        guard client.current == opID else { return }
        client.current = nil
        client.casPlan = nil
        if opID >= 0 {
            history[opID].complete = now
            history[opID].outcome = .uncertain
            log("c\(c) op\(opID) timed out: uncertain")
        }
        scheduleClient(c)
    }
}
