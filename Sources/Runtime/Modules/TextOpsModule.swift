import SIP
import Script
#if canImport(Glibc)
import Glibc
#endif

/// textops and siputils: tests on the message, header additions and removals.
enum TextOpsModule {
    static var spec: ModuleSpec {
        ModuleSpec(name: "textops", functions: [
            FunctionSpec("is_method", args: [.string], fixup: parseMethods) { ctx, args in
                let wanted = (args.payload as? [String]) ?? methodList(args.string(0, &ctx))
                let m = ctx.message.message
                let method = m.isRequest ? m.method.name : m.cseq.method.name
                return wanted.contains { $0.caseInsensitiveEquals(method) } ? 1 : -1
            },
            FunctionSpec("append_hf", args: [.string, .string], minArgs: 1) { ctx, args in
                var line = args.string(0, &ctx)
                if !line.hasSuffix("\r\n") { line += line.hasSuffix("\n") ? "" : "\r\n" }
                ctx.message.edits.appendedHeaders.append(line)
                return 1
            },
            FunctionSpec("remove_hf", args: [.string]) { ctx, args in
                let name = args.string(0, &ctx)
                let present = ctx.message.message.headerCount(name) > 0
                ctx.message.edits.removedHeaders.insert(name.lowercased())
                return present ? 1 : -1
            },
            FunctionSpec("is_present_hf", args: [.string]) { ctx, args in
                ctx.message.message.headerCount(args.string(0, &ctx)) > 0 ? 1 : -1
            },
            FunctionSpec("search", args: [.string], fixup: compilePattern) { ctx, args in
                let text = String(decoding: ctx.message.message.bytes, as: UTF8.self)
                if let regex = args.payload as? CompiledRegex { return regex.matches(text) ? 1 : -1 }
                guard let regex = CompiledRegex(args.string(0, &ctx)) else { return -1 }
                return regex.matches(text) ? 1 : -1
            },
            FunctionSpec("has_body", args: [.string], minArgs: 0) { ctx, args in
                let m = ctx.message.message
                guard !m.bodyRange.isEmpty else { return -1 }
                guard args.count == 1 else { return 1 }
                let wanted = args.string(0, &ctx).lowercased()
                return (try? m.contentType)??.mediaType == wanted ? 1 : -1
            },
        ])
    }

    static func methodList(_ text: String) -> [String] {
        text.split(separator: "|").map { String($0).trimmingCharacters(in: " ") }.filter { !$0.isEmpty }
    }

    static let parseMethods: @Sendable (inout FixupContext) -> Void = { fc in
        guard let text = fc.staticString(0) else { return }
        let list = methodList(text)
        if list.isEmpty { fc.error("is_method needs at least one method", argument: 0) }
        fc.payload = list
    }

    static let compilePattern: @Sendable (inout FixupContext) -> Void = { fc in
        guard let pattern = fc.staticString(0) else { return }
        guard let regex = CompiledRegex(pattern) else {
            fc.error("invalid regular expression '\(pattern)'", argument: 0)
            return
        }
        fc.payload = regex
    }
}

/// A POSIX extended, case-insensitive regular expression compiled once (at load time
/// for a literal pattern), as Kamailio's textops uses them.
final class CompiledRegex: @unchecked Sendable {
    private var regex = regex_t()

    init?(_ pattern: String) {
        guard regcomp(&regex, pattern, REG_EXTENDED | REG_ICASE | REG_NOSUB | REG_NEWLINE) == 0 else { return nil }
    }

    deinit { regfree(&regex) }

    // regexec only reads the compiled pattern, so one instance serves a whole process.
    func matches(_ text: String) -> Bool {
        regexec(&regex, text, 0, nil, 0) == 0
    }
}

extension String {
    func caseInsensitiveEquals(_ other: String) -> Bool {
        utf8.count == other.utf8.count && lowercased() == other.lowercased()
    }
}
