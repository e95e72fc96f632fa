extension StringProtocol {
    /// Drops the spaces, tabs and carriage returns a config line may carry
    /// around keys and values (files edited on Windows end lines in CR LF).
    func trimmingConfigWhitespace() -> String {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let first = firstIndex(where: { !isBlank($0) }),
              let last = lastIndex(where: { !isBlank($0) })
        else { return "" }
        return String(self[first...last])
    }
}
