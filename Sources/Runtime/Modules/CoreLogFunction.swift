import Script

/// The core's `log([level,] text)`: the text as written (no variables), at a level given as
/// a number, 0 (WARNING) to 3 (DEBUG); without a level Kamailio logs at 4, a level no
/// `debug` setting shows, and so does Respite. Lines read `<script>: text`, as xlog's do.
enum CoreLogFunction {
    static let spec = FunctionSpec("log", args: [.any, .rawString], minArgs: 1, fixup: { fc in
        guard fc.argumentCount == 2 else { return }
        guard let n = fc.staticInt(0), n >= 0 else {
            fc.error("log's level must be a number: 0 (WARNING), 1 (NOTICE), 2 (INFO), 3 (DEBUG)", argument: 0)
            return
        }
        fc.payload = n
    }) { ctx, args in
        let number = args.count == 2 ? (args.payload as? Int ?? 4) : 4
        guard let level = LogLevel(rawValue: number), level >= .warning else { return 1 }
        let log = ctx.message.process.log
        guard log.enabled(level) else { return 1 }
        log.write(level, "<script>", args.string(args.count - 1, &ctx))
        return 1
    }
}
