import SIP
import Script
#if canImport(Glibc)
import Glibc
#endif

/// textopsx: Kamailio's textops extensions. `msg_apply_changes` writes the pending edits
/// into the message (MessageRewrite.swift), `change_reply_status` rewrites the status line
/// of a reply being relayed, `keep_hf` and the header-value functions
/// (TextOpsXHeaderFunctions.swift) add edits, `fnmatch` matches shell patterns. Every
/// edit lives on the message context of the receiver running the script (docs/modules/textopsx.md).
enum TextOpsXModule {
    static var spec: ModuleSpec {
        ModuleSpec(name: "textopsx", functions: [
            FunctionSpec("msg_apply_changes", allowedRoutes: [.request, .onreply, .reply]) { ctx, _ in
                applyChanges(&ctx)
            },
            FunctionSpec("change_reply_status", args: [.int, .string], allowedRoutes: [.onreply, .reply]) { ctx, args in
                guard let code = args.int(0, &ctx) else {
                    ctx.message.process.log.error("textopsx", "change_reply_status: the status code is not an integer")
                    return -1
                }
                return changeReplyStatus(code, args.string(1, &ctx), &ctx)
            },
            FunctionSpec("keep_hf", args: [.string], fixup: compileRegex) { ctx, args in
                guard let regex = (args.payload as? CompiledRegex) ?? CompiledRegex(args.string(0, &ctx)) else {
                    ctx.message.process.log.error("textopsx", "keep_hf: invalid regular expression '\(args.string(0, &ctx))'")
                    return -1
                }
                return keepHeaders(matching: regex, &ctx)
            },
            FunctionSpec("fnmatch", args: [.string, .string, .string], minArgs: 2) { ctx, args in
                let value = args.string(0, &ctx), pattern = args.string(1, &ctx)
                let flags = args.count > 2 ? args.string(2, &ctx) : ""
                return shellMatch(value, pattern, flags: flags) ? 1 : -1
            },
        ] + TextOpsXHeaderFunctions.specs + notYetAvailable)
    }

    /// textopsx functions Respite does not have yet: a config calling them fails to load,
    /// naming them.
    static var notYetAvailable: [FunctionSpec] {
        [("msg_set_buffer", 1), ("change_reply_status_code", 1), ("remove_body", 0),
         ("hf_iterator_start", 1), ("hf_iterator_end", 1), ("hf_iterator_next", 1), ("hf_iterator_prev", 1),
         ("hf_iterator_rm", 1), ("hf_iterator_append", 2), ("hf_iterator_insert", 2),
         ("bl_iterator_start", 1), ("bl_iterator_end", 1), ("bl_iterator_next", 1), ("bl_iterator_rm", 1),
         ("bl_iterator_append", 2), ("bl_iterator_insert", 2)].map { name, arity in
            FunctionSpec(name, args: Array(repeating: ArgKind.string, count: max(arity, 1)), minArgs: 0,
                         status: .notYetAvailable("textopsx's \(name.hasPrefix("hf_") || name.hasPrefix("bl_") ? "header and body iterators" : name)")) { _, _ in -1 }
        }
    }

    /// msg_apply_changes(): 1 once the edits are in the message; -1, changing nothing, after
    /// record_route() (its Record-Route depends on the socket the request leaves from, so
    /// Kamailio refuses too) or once the request has a transaction (the transaction keeps
    /// the message as it was; Kamailio goes ahead and warns against it); 0, ending the
    /// script, when the result does not parse.
    static func applyChanges(_ ctx: inout ExecContext) -> Int {
        let m = ctx.message
        if m.message.isRequest {
            if m.edits.rr.mode != nil {
                m.process.log.error("textopsx", "msg_apply_changes: cannot apply the changes after record_route(): the Record-Route is written when the request leaves")
                return -1
            }
            if m.transaction != nil {
                m.process.log.error("textopsx", "msg_apply_changes: the request already has a transaction, which keeps it as it was")
                return -1
            }
        }
        guard m.applyPendingChanges() else {
            m.process.log.error("textopsx", "msg_apply_changes: the changed message does not parse; the script stops")
            return 0
        }
        return 1
    }

    /// change_reply_status(code, reason): the reply goes on with this status line. Kamailio's
    /// limits: a code from 100 to 699, and only 3xx to 6xx may change class (1xx and 2xx
    /// stay within theirs, and nothing becomes 1xx or 2xx).
    static func changeReplyStatus(_ code: Int, _ reason: String, _ ctx: inout ExecContext) -> Int {
        let m = ctx.message
        let log = m.process.log
        guard !m.message.isRequest else { return -1 }
        guard (100...699).contains(code) else {
            log.error("textopsx", "change_reply_status: wrong status code \(code)")
            return -1
        }
        let old = m.message.statusCode
        if code / 100 != old / 100 && (old < 300 || code < 300) {
            log.error("textopsx", "change_reply_status: \(old) cannot become \(code): the class of provisional and positive final replies cannot be changed")
            return -1
        }
        guard !reason.utf8.contains(where: { $0 == 13 || $0 == 10 }), m.changeStatus(code, reason: reason) else {
            log.error("textopsx", "change_reply_status: the reason '\(reason)' does not make a status line")
            return -1
        }
        return 1
    }

    /// The headers keep_hf always keeps.
    static let keptKinds: Set<HeaderKind> = [.via, .from, .to, .callID, .cseq, .contentLength, .contentType,
                                             .maxForwards, .contact, .route, .recordRoute]

    /// keep_hf(regex): removes every header but the ones above and those whose name the
    /// expression matches (case-insensitive, anywhere in the name). Returns -1 even when it
    /// removed headers, as Kamailio 5.6.3 does.
    static func keepHeaders(matching regex: CompiledRegex, _ ctx: inout ExecContext) -> Int {
        let m = ctx.message
        for field in m.message.headers where !keptKinds.contains(field.kind) {
            if !regex.matches(m.message.name(of: field)) {
                m.edits.splices.append(ScriptEdits.Splice(range: field.lineRange, text: ""))
            }
        }
        return -1
    }

    static let compileRegex: @Sendable (inout FixupContext) -> Void = { fc in
        guard let pattern = fc.staticString(0) else { return }
        guard let regex = CompiledRegex(pattern) else {
            fc.error("invalid regular expression '\(pattern)'", argument: 0)
            return
        }
        fc.payload = regex
    }

    /// fnmatch(value, pattern[, flags]): the C library's shell-style match. Kamailio 5.6.3
    /// reads its `i` flag but matches case-sensitively all the same, so Respite does too.
    static func shellMatch(_ value: String, _ pattern: String, flags: String) -> Bool {
        Glibc.fnmatch(pattern, value, 0) == 0
    }
}
