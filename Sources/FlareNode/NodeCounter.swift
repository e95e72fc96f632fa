/// The request counters of `stats`, kept per worker thread in a `ThreadCounters` and summed on demand.
enum NodeCounter {
    static let cmdGet = 0
    static let cmdSet = 1
    static let getHits = 2
    static let getMisses = 3
    static let deleteHits = 4
    static let deleteMisses = 5
    static let incrHits = 6
    static let incrMisses = 7
    static let decrHits = 8
    static let decrMisses = 9
    static let casHits = 10
    static let casMisses = 11
    static let casBadval = 12
    static let touchHits = 13
    static let touchMisses = 14
    static let totalItems = 15
    static let cmdTouch = 16
    /// Copies refused because their sender is not this partition's source in the local map.
    static let replicasRefused = 17
    static let count = 18
}
