/// `tm.stats`, `sl.stats` and `stats.*`: filled in when the statistics section lands.
extension RPCMethods {
    static var tm: [RPCMethod] { [] }
    static var sl: [RPCMethod] { [] }
    static var statistics: [RPCMethod] { [] }
}
