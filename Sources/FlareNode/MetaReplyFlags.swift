import FlareNet
import FlareProtocol
import FlareStorage

/// The flags a meta reply echoes, in the request's order.
extension NodeHandler {
    /// The flags a reply returns, in the order the request gave them; `allowed` lists the letters
    /// this reply carries (`k` brings `b` along when the key was sent in base64).
    ///
    /// memcached applies `T` (and an `N` that created the item) where it stands among the flags: a
    /// `t` before it reports the TTL the item had before (`expireBeforeT`), a `t` after it the new
    /// one, and `R` compares the TTL as it stands there. `h` and `l` report the reads of the item
    /// of `readVersion` (the item before a `T`; default: `header`'s) before this request's own. Returns whether `mg`'s `R` or `N` asks for
    /// the recache token (`ma` ignores it: a counter's creation hands out no token).
    @discardableResult
    func appendReturnFlags(_ request: Request, sentKey: UnsafeRawBufferPointer, allowed: StaticString,
                           header: ItemHeader?, size: Int, now: Int64, expireBeforeT: Int64? = nil,
                           created: Bool = false, readVersion: UInt64? = nil, _ output: ReplyBuffer) -> Bool {
        var expire = expireBeforeT ?? header?.expire ?? 0
        var wantsToken = false
        let getting = request.command == .mg && header != nil
        var mask: UInt64 = 0
        for index in 0..<allowed.utf8CodeUnitCount { mask |= MetaFlags.bit(allowed.utf8Start[index]) }
        var words = request.arguments
        while let word = words.next() {
            let letter = word[0]
            switch letter {
            case UInt8(ascii: "T"):
                expire = Expiry.absolute(request.meta.ttl, now: now)
            case UInt8(ascii: "N") where created:
                expire = header?.expire ?? 0
                wantsToken = true
            case UInt8(ascii: "R") where getting && !created:
                if expire != 0 && expire < Expiry.absolute(request.meta.recache, now: now) { wantsToken = true }
            default:
                break
            }
            guard mask & MetaFlags.bit(letter) != 0 else { continue }
            output.append(byte: 0x20)
            switch letter {
            case UInt8(ascii: "O"):
                output.append(word)
            case UInt8(ascii: "k"):
                output.append(byte: letter)
                output.append(sentKey)
                if request.meta.has("b") { output.append(" b") }
            case UInt8(ascii: "c"):
                output.append(byte: letter)
                output.appendDecimal(header?.version ?? 0)
            case UInt8(ascii: "f"):
                output.append(byte: letter)
                output.appendDecimal(UInt64(header?.flags ?? 0))
            case UInt8(ascii: "s"):
                output.append(byte: letter)
                output.appendDecimal(UInt64(size))
            case UInt8(ascii: "t"):
                output.append(byte: letter)
                output.appendDecimal(expire == 0 ? -1 : expire - now)
            case UInt8(ascii: "h"), UInt8(ascii: "l"):
                // Each time against its own clock: a read's time is the worker's once-a-second
                // clock (`now`), the store time comes from the version, exact, so the exact time;
                // mixing them could make an item stored 2.1 s ago look 1 s old.
                let exactNow = ServerClock.systemNow()
                let read = context.accesses.state(of: readVersion ?? header?.version ?? 0, now: exactNow)
                output.append(byte: letter)
                if letter == UInt8(ascii: "h") {
                    output.append(byte: read.fetched ? 0x31 : 0x30)
                } else {
                    output.appendDecimal(max(0, (read.readAgain ? now : exactNow) - read.accessed))
                }
            default:
                break
            }
        }
        return wantsToken
    }
}
