import Foundation
import Testing

/// Loads the RFC 4475 torture messages and other fixtures, byte-exact.
enum Fixture {
    static func rfc4475(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "dat", subdirectory: "Fixtures/rfc4475"))
        return try [UInt8](Data(contentsOf: url))
    }

    static let allRFC4475 = [
        "wsinv", "intmeth", "esc01", "escnull", "esc02", "lwsdisp", "longreq", "dblreq", "semiuri",
        "transports", "mpart01", "unreason", "noreason",
        "badinv01", "clerr", "ncl", "scalar02", "scalarlg", "quotbal", "ltgtruri", "lwsruri",
        "lwsstart", "trws", "escruri", "baddate", "regbadct", "badaspec", "baddn", "badvers",
        "mismatch01", "mismatch02", "bigcode",
        "badbranch",
        "insuf", "unkscm", "novelsc", "unksm2", "bext01", "invut", "regaut01", "multi01", "mcl01",
        "bcast", "zeromf", "cparam01", "cparam02", "regescrt", "sdp01",
        "inv2543",
    ]
}
