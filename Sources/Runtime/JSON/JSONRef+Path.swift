/// Reading and writing at a `JSONPath`, as Kamailio's jansson module does (checked against
/// Kamailio 5.6.3, case by case: `Tests/RuntimeTests/JSONPathTests.swift` and the
/// conformance case `jansson_functions`).
extension JSONRef {
    /// What `jansson_get` finds at `path`: nil when a member or element is missing, when a
    /// step meets a value of the other kind, or when text follows the last `]`. An empty
    /// last name stays where the path got (`a.` is `a`); an empty name before a `.` or `[`
    /// is looked up as the member `""`.
    func find(_ path: JSONPath) -> JSONRef? {
        guard !path.trailingText else { return nil }
        var cursor = self
        for step in path.steps {
            switch step {
            case .member(let name, _):
                guard let next = cursor.member(name) else { return nil }
                cursor = next
            case .element(let index):
                guard let next = cursor.element(index) else { return nil }
                cursor = next
            }
        }
        if case .member(let name) = path.end, !name.isEmpty { return cursor.member(name) }
        return cursor
    }

    /// Why a write failed, for the log.
    enum WriteError: Error, CustomStringConvertible {
        case emptyName
        case notAnObject(String)
        case notAnArray
        case missingBeforeIndex(String)
        case indexOutOfRange
        case cannotAppend
        case noPlace
        case refused

        var description: String {
            switch self {
            case .emptyName: return "empty member name in the path"
            case .notAnObject(let name): return "'\(name)' is asked of a value that is not an object"
            case .notAnArray: return "an index is asked of a value that is not an array"
            case .missingBeforeIndex(let name): return "no member '\(name)' to index (arrays are not created)"
            case .indexOutOfRange: return "array index out of range"
            case .cannotAppend: return "appending needs an array, or an object to add an object to"
            case .noPlace: return "the path names no member or element to set"
            case .refused: return "the JSON library refused the change"
            }
        }
    }

    /// `jansson_set` (`append` false) and `jansson_append` (true): stores `value` at `path`
    /// in this document. On the way, a missing member followed by `.` is created as an empty
    /// object; a missing one followed by `[`, or an element out of range, is an error. At
    /// the end of the path:
    /// - a name: set sets that member of an object; append appends to the array it holds, or
    ///   adds the members of an object value to the object it holds;
    /// - an empty name (the path is empty or ends with `.` or `[`): append appends to (or
    ///   adds members to) the value the path got to; set replaces it when it is an element
    ///   of an array (`a[0].`) and fails otherwise;
    /// - an index (`a[0]`): both replace that element. Text after the last `]` is ignored.
    /// On an error the document may already hold objects created on the way: callers drop it.
    func store(_ value: borrowing JSONValue, at path: JSONPath, append: Bool) throws(WriteError) {
        var cursor = self
        var parent: JSONRef?
        var lastIndex: Int?
        for step in path.steps {
            parent = cursor
            switch step {
            case .member(let name, let thenMember):
                guard !name.isEmpty else { throw .emptyName }
                if let next = cursor.member(name) {
                    cursor = next
                    continue
                }
                guard cursor.isObject else { throw .notAnObject(name) }
                guard thenMember else { throw .missingBeforeIndex(name) }
                guard let made = JSONValue.object(), cursor.setMember(name, made), let next = cursor.member(name) else {
                    throw .refused
                }
                cursor = next
            case .element(let index):
                guard cursor.isArray else { throw .notAnArray }
                guard let next = cursor.element(index), let index else { throw .indexOutOfRange }
                cursor = next
                lastIndex = index
            }
        }
        switch path.end {
        case .member(let name) where append:
            let target = name.isEmpty ? cursor : cursor.member(name)
            guard let target else { throw .cannotAppend }
            if target.isArray {
                guard target.append(value) else { throw .refused }
            } else if target.isObject && value.ref.isObject {
                guard target.update(with: value) else { throw .refused }
            } else {
                throw .cannotAppend
            }
            return
        case .member(let name) where !name.isEmpty:
            guard cursor.isObject else { throw .notAnObject(name) }
            guard cursor.setMember(name, value) else { throw .refused }
            return
        case .member, .element:
            // An empty last name, or an index: the element the path got to is replaced.
            break
        }
        guard let parent, parent.isArray, let lastIndex else { throw .noPlace }
        guard parent.setElement(lastIndex, value) else { throw .refused }
    }
}
