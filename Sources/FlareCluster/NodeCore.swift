/// The control plane of a node as a pure state machine: which map it routes by, whether it serves
/// data and may act as master, what it tells the index and which reconstructions it runs. The
/// daemon delivers events (one at a time, under its lock) and executes the returned effects; this
/// type does no I/O and reads no clock, so every decision can be tested by a table of events.
public struct NodeCore: Sendable {
    public struct Configuration: Sendable, Equatable {
        public var name: String
        public var port: Int
        /// Index servers are configured; without them the node is a one-node cluster for good.
        public var hasIndex: Bool
        /// `master-lease` in milliseconds, 0 = off.
        public var leaseMilliseconds: Int64
        /// `reconstruction-interval` (µs per item) and `reconstruction-bwlimit` (KiB/s), for `dump` requests.
        public var reconstructionInterval: Int
        public var reconstructionBwlimit: Int

        public init(name: String, port: Int, hasIndex: Bool, leaseMilliseconds: Int64,
                    reconstructionInterval: Int = 0, reconstructionBwlimit: Int = 0) {
            self.name = name
            self.port = port
            self.hasIndex = hasIndex
            self.leaseMilliseconds = leaseMilliseconds
            self.reconstructionInterval = reconstructionInterval
            self.reconstructionBwlimit = reconstructionBwlimit
        }

        public var selfKey: String { NodeEntry.nodeKey(name: name, port: port) }
    }

    /// Why data requests are refused.
    enum Fence: Equatable {
        case none
        /// A restarted cluster member before the index sent it any map.
        case awaitingIndex
        /// After a stall, until a map fetched afresh arrives: a push buffered meanwhile may be stale.
        case stalled
        /// Serve with maps at least this new (the workers may still hold an older one).
        case atLeast(UInt64)
    }

    enum Rejoin: Equatable {
        case waiting(partition: Int, retryAt: Int64, giveUpAt: Int64)
        case asked(partition: Int, line: String, giveUpAt: Int64)
    }

    struct PendingConstruction: Equatable {
        let entry: NodeEntry
        let onSuccess: String
    }

    public private(set) var configuration: Configuration
    /// The map from the index; nil while serving standalone (never heard from an index).
    public private(set) var map: NodeMap?
    public private(set) var version: UInt64 = 0
    public private(set) var layout: PartitionLayout = .empty
    /// The index knows this node (it answered `node add` or pushed a map).
    public private(set) var registered = false
    /// The operator removed this node from the index's map: it does not register again.
    public private(set) var removed = false
    public private(set) var serving: ServingDecision = .open
    var fence: Fence = .none
    /// The send time of the last index contact that counts for the lease.
    var lastContact: Int64?
    /// A contact that reported a newer map than ours: it counts once that map is installed.
    var pendingContact: (sentAt: Int64, version: UInt64)?
    var fetching = false
    var construction: PendingConstruction?
    var rejoin: Rejoin?
    /// A former slave's progress, kept until its rejoin construction tries the master's backlog.
    var progress: SlaveProgress?
    /// While a catch-up runs: the full copy to fall back on.
    var fallback: NodeConstruction?
    var now: Int64 = 0
    /// Whether the last published decision allowed acting as master, to log lease changes once.
    var leaseHeld = true
    var warnedUnreachable = false

    static let rejoinRetryMilliseconds: Int64 = 500
    static let rejoinGiveUpMilliseconds: Int64 = 120_000

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// This node's entry in the index's map (nil standalone or when the map does not list it).
    public var me: NodeEntry? { map?[nodeKey: configuration.selfKey] }

    public mutating func step(_ event: NodeEvent) -> [NodeEffect] {
        var effects: [NodeEffect] = []
        switch event {
        case .started(let formerMember, let formerPartition, let rejoinAsSlave, let formerRole, let progress, let now):
            self.now = now
            started(formerMember: formerMember, formerPartition: formerPartition, rejoinAsSlave: rejoinAsSlave, &effects)
            if rejoin != nil { keepProgress(formerRole: formerRole, formerPartition: formerPartition, progress, &effects) }
        case .catchUpFinished(let outcome):
            catchUpFinished(outcome, &effects)
        case .registered(let newMap):
            registered = true
            warnedUnreachable = false
            // A push may have overtaken the `node add` reply: keep the newer map.
            if version > 0, let map {
                effects.append(.install(map: map, version: version, layout: layout))
            } else {
                apply(newMap, version: 0, &effects)
            }
            heardFromIndex(&effects)
            effects.append(.log(.notice, "registered with the index server as \(configuration.selfKey)"))
        case .unlisted(let indexVersion) where version > 0 && indexVersion >= version:
            guard !removed else { break }
            removed = true
            registered = false
            effects.append(.log(.warning, "removed from the node map by the index server (its map version \(indexVersion)): not registering again; restart flared to rejoin the cluster"))
        case .unlisted:
            registered = false
            // The index restarted from scratch: its versions start over too, so a version floor
            // from its old numbering would refuse every new map. The workers keep their view.
            version = 0
            pendingContact = nil
            if case .atLeast = fence { fence = .none }
            effects.append(.log(.warning, "the index server no longer lists \(configuration.selfKey): registering again"))
        case .mapPushed(let pushedVersion, let newMap):
            if map != nil && version > 0 && version > pushedVersion {
                effects.append(.log(.info, "ignored node map version \(pushedVersion): version \(version) is newer"))
                break
            }
            registered = true
            apply(newMap, version: pushedVersion, &effects)
            heardFromIndex(&effects)
        case .mapFetched(let fetchedVersion, let newMap, let sentAt, let granted):
            fetching = false
            // A reply that was under way when the index forgot this node is not ours to install.
            guard registered || fence == .stalled else { break }
            if map == nil || version == 0 || fetchedVersion >= version {
                registered = true
                apply(newMap, version: fetchedVersion, &effects)
            }
            if fence == .stalled || fence == .awaitingIndex {
                fence = .atLeast(min(fetchedVersion, version))
                effects.append(.log(.notice, "node map version \(fetchedVersion) confirmed by the index server: serving again"))
            }
            contact(sentAt: sentAt, indexVersion: fetchedVersion, granted: granted, &effects)
        case .indexContact(let sentAt, let indexVersion, let granted):
            now = max(now, sentAt)
            if warnedUnreachable {
                warnedUnreachable = false
                effects.append(.log(.notice, "the index server answers again"))
            }
            contact(sentAt: sentAt, indexVersion: indexVersion, granted: granted, &effects)
        case .indexUnreachable(let now):
            self.now = max(self.now, now)
            fetching = false
            if fence == .stalled { requestFetch(&effects) }
            if !warnedUnreachable && registered {
                warnedUnreachable = true
                effects.append(.log(.warning, "no index server answers"))
            }
        case .stallDetected(let now):
            self.now = max(self.now, now)
            guard configuration.hasIndex, fence != .stalled else { break }
            fence = .stalled
            effects.append(.log(.warning, "this process was suspended: data requests are refused until the index confirms the node map"))
            requestFetch(&effects, force: true)
        case .constructionFinished(let ok):
            constructionFinished(ok: ok, &effects)
        case .toldIndex(let line, let accepted):
            toldIndex(line: line, accepted: accepted, &effects)
        case .tick(let now):
            self.now = max(self.now, now)
        case .settingsChanged(let interval, let bwlimit):
            configuration.reconstructionInterval = interval
            configuration.reconstructionBwlimit = bwlimit
        }
        advanceRejoin(&effects)
        publish(&effects)
        return effects
    }

    private mutating func started(formerMember: Bool, formerPartition: Int?, rejoinAsSlave: Bool, _ effects: inout [NodeEffect]) {
        guard configuration.hasIndex else {
            effects.append(.log(.notice, "no index server configured: serving standalone as the only master of partition 0"))
            return
        }
        // A node that was a cluster member must not serve its old data as a one-node cluster; a node
        // that never registered serves standalone meanwhile, as a new node should.
        if formerMember {
            fence = .awaitingIndex
            effects.append(.log(.notice, "this node was a cluster member: data requests wait for the index server to confirm its role"))
        }
        if rejoinAsSlave, let formerPartition {
            rejoin = .waiting(partition: formerPartition, retryAt: now, giveUpAt: now + Self.rejoinGiveUpMilliseconds)
            effects.append(.log(.notice, "rejoin-as-slave: will ask to rejoin partition \(formerPartition) as a slave once the index lists this node"))
        }
    }

    /// Any map from the index lifts a restart fence (a fresh process holds no stale pushes), not a stall's.
    private mutating func heardFromIndex(_ effects: inout [NodeEffect]) {
        if fence == .awaitingIndex { fence = .atLeast(version) }
        effects.append(.recordMembership)
    }

    private mutating func requestFetch(_ effects: inout [NodeEffect], force: Bool = false) {
        guard configuration.hasIndex, force || !fetching else { return }
        fetching = true
        effects.append(.fetchMap)
    }

    /// An index answered at `sentAt`. A granted lease runs from then, unless the index holds a newer
    /// map: a master cut off and healed must learn whether it was replaced before it acts again. A
    /// refused one renews nothing (the index is failing this node over), but a newer map is fetched.
    private mutating func contact(sentAt: Int64, indexVersion: UInt64, granted: Bool, _ effects: inout [NodeEffect]) {
        guard registered, map != nil else { return }
        if indexVersion > version {
            if granted, pendingContact == nil || pendingContact!.version < indexVersion || pendingContact!.sentAt < sentAt {
                pendingContact = (sentAt, max(indexVersion, pendingContact?.version ?? 0))
            }
            requestFetch(&effects)
            return
        }
        if granted { lastContact = max(lastContact ?? .min, sentAt) }
    }

    /// Installs a map and derives what the change of this node's entry asks for.
    private mutating func apply(_ newMap: NodeMap, version newVersion: UInt64, _ effects: inout [NodeEffect]) {
        let old = me
        do {
            layout = try newMap.partitionLayout()
        } catch {
            effects.append(.log(.error, "node map version \(newVersion) has inconsistent partitions (\(error)); keeping the previous partition tables"))
        }
        map = newMap
        version = newVersion
        effects.append(.install(map: newMap, version: newVersion, layout: layout))
        if let pending = pendingContact, newVersion >= pending.version {
            lastContact = max(lastContact ?? .min, pending.sentAt)
            pendingContact = nil
        }
        guard let new = me else { return }
        if old?.role != new.role || old?.state != new.state || old?.partition != new.partition {
            effects.append(.log(.notice, "this node is now \(new.role.name)/\(new.state.name) of partition \(new.partition) (node map version \(newVersion))"))
        }
        if old != new {
            effects.append(.rememberRole(new))
            if let old { selfChanged(from: old, to: new, &effects) }
        }
        // The old partitions keep the keys that moved to a new one (as the original): routing
        // never reads them again, and the operator drops them with `reclaim` when convenient.
    }

    private mutating func toldIndex(line: String, accepted: Bool, _ effects: inout [NodeEffect]) {
        if case .asked(let partition, let asked, let giveUpAt) = rejoin, asked == line {
            if accepted {
                effects.append(.log(.notice, "rejoin-as-slave: rejoining partition \(partition) as a slave"))
                rejoin = nil
            } else {
                effects.append(.log(.warning, "rejoin-as-slave: the index refused to make this node a slave of partition \(partition); retrying"))
                rejoin = .waiting(partition: partition, retryAt: now + Self.rejoinRetryMilliseconds, giveUpAt: giveUpAt)
            }
            return
        }
        if !accepted { effects.append(.log(.error, "the index refused '\(line)'")) }
    }

    /// How long a granted lease lasts here: 5 % short of `master-lease`, the length the index
    /// records from its receipt of the renewal (later than our send time). The margin covers the
    /// two monotonic clocks running at slightly different rates, so the node's lease ends first.
    public var heldLeaseMilliseconds: Int64 { configuration.leaseMilliseconds - configuration.leaseMilliseconds / 20 }

    /// Whether an active master must hold a lease: it has a slave that a fail-over could promote.
    private var leaseApplies: Bool {
        guard configuration.hasIndex, configuration.leaseMilliseconds > 0, let me, let map,
              me.role == .master, me.state == .active else { return false }
        return map.entries.contains { $0.role == .slave && $0.partition == me.partition && $0.state != .down }
    }

    /// Recomputes the decision the workers read; logs when the lease starts or stops mattering.
    private mutating func publish(_ effects: inout [NodeEffect]) {
        let minimumVersion: UInt64
        switch fence {
        case .none: minimumVersion = 0
        case .awaitingIndex, .stalled: minimumVersion = .max
        case .atLeast(let v): minimumVersion = v
        }
        var decision = ServingDecision(minimumVersion: minimumVersion, masterUntil: .max, heardAt: lastContact ?? .min)
        if leaseApplies {
            decision.masterUntil = lastContact.map { $0 + heldLeaseMilliseconds } ?? .min
        }
        serving = decision
        let held = decision.mayActAsMaster(now: now)
        if held != leaseHeld {
            leaseHeld = held
            if held {
                effects.append(.log(.notice, "master lease renewed by the index server: acting as master again"))
            } else {
                effects.append(.log(.warning, "no master lease (none granted by the index server within \(heldLeaseMilliseconds) ms): refusing to act as master"))
            }
        }
    }
}
