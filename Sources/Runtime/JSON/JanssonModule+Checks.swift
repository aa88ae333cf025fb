import Script

/// Load-time checks of the jansson functions' literal arguments: what can never work is an
/// error at its place in the config, and a literal path is parsed once.
extension JanssonModule {
    static func checkRead(path p: Int, json j: Int) -> @Sendable (inout FixupContext) -> Void {
        { fc in
            var fixed = Fixed()
            if let text = fc.staticString(p) {
                do {
                    let path = try JSONPath(text)
                    if path.trailingText {
                        fc.error("path '\(text)' has text after its last ']': nothing is ever found there", argument: p)
                    }
                    fixed.path = path
                } catch {
                    fc.error("malformed JSON path '\(text)': \(error)", argument: p)
                }
            }
            checkDocument(&fc, j)
            fc.payload = fixed
        }
    }

    static let checkWrite: @Sendable (inout FixupContext) -> Void = { fc in
        var fixed = Fixed()
        if let name = fc.staticString(0) {
            if let type = JSONType(named: name) {
                fixed.type = type
                if let text = fc.staticString(2) {
                    do { _ = try type.value(from: text) } catch { fc.error("\(error)", argument: 2) }
                }
            } else {
                fc.error("unknown JSON type '\(name)' (\(JSONType.names))", argument: 0)
            }
        }
        if let text = fc.staticString(1) {
            do {
                fixed.path = try JSONPath(text)
            } catch {
                fc.error("malformed JSON path '\(text)': \(error)", argument: 1)
            }
        }
        fc.payload = fixed
    }

    static let checkDecode: @Sendable (inout FixupContext) -> Void = { fc in
        checkDocument(&fc, 0)
        if let name = fc.staticString(1), name.isEmpty { fc.error("empty xavp name", argument: 1) }
    }

    /// A literal document must parse.
    static func checkDocument(_ fc: inout FixupContext, _ i: Int) {
        guard let text = fc.staticString(i) else { return }
        do { _ = try JSONValue(parsing: text) } catch { fc.error("invalid JSON: \(error)", argument: i) }
    }
}
