/// The few printf conversions the original formats use (`%-32s`, `%9s`, `%-25.25s`), on
/// character counts like Ruby's `%`.
enum Printf {
    /// `%-<width>s`: padded on the right.
    static func left(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    /// `%<width>s`: padded on the left.
    static func right(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }

    /// `%-<width>.<width>s`: padded on the right and cut to the width.
    static func leftExact(_ text: String, _ width: Int) -> String {
        left(String(text.prefix(width)), width)
    }
}
