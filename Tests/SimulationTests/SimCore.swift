/// Deterministic building blocks of the cluster simulation: the seeded generator every random
/// choice comes from, the event queue ordered by (time, insertion number), and the trace.
///
/// Nothing here reads a clock or iterates a Dictionary, so one seed always replays the same run.

/// SplitMix64: tiny, fast and good enough for fault schedules; one stream per run.
struct SimRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<bound (bound > 0); the modulo bias is irrelevant for a simulation.
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    mutating func range(_ range: ClosedRange<Int64>) -> Int64 {
        range.lowerBound + Int64(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    /// True with probability `permille`/1000.
    mutating func chance(_ permille: Int) -> Bool { below(1000) < permille }
}

/// Min-heap of scheduled events; equal times run in scheduling order, which keeps runs
/// reproducible.
struct EventQueue<Payload> {
    private struct Item {
        let time: Int64
        let order: UInt64
        let payload: Payload
        func precedes(_ other: Item) -> Bool { time != other.time ? time < other.time : order < other.order }
    }

    private var heap: [Item] = []
    private var counter: UInt64 = 0

    var isEmpty: Bool { heap.isEmpty }

    mutating func push(_ time: Int64, _ payload: Payload) {
        counter += 1
        heap.append(Item(time: time, order: counter, payload: payload))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (Int64, Payload)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count && heap[left].precedes(heap[smallest]) { smallest = left }
            if right < heap.count && heap[right].precedes(heap[smallest]) { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return (top.time, top.payload)
    }
}

/// The last `capacity` trace lines, or all of them when replaying one seed.
struct Trace {
    let capacity: Int
    private(set) var lines: [String] = []
    private var start = 0
    private(set) var total = 0

    init(capacity: Int) { self.capacity = capacity }

    mutating func add(_ line: @autoclosure () -> String) {
        total += 1
        guard capacity > 0 else { return }
        if lines.count < capacity {
            lines.append(line())
        } else {
            lines[start] = line()
            start = (start + 1) % capacity
        }
    }

    /// Oldest first.
    var ordered: [String] { Array(lines[start...] + lines[..<start]) }
}
