import SIP
import Script
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// registrar's `save()`: RFC 3261 10.3 for one REGISTER, over the location table, with
/// Kamailio 5.6.3's replies (codes, reasons, P-Registrar-Error, Contact list).
struct RegistrarSave {
    let context: MessageContext
    let store: LocationStore
    let settings: RegistrarSettings
    let useDomain: Bool
    /// save() flags: 0x02 no reply, 0x04 one contact per AOR.
    let flags: Int

    /// A refusal: the reply and the function's return code.
    struct Refusal: Error {
        var code: Int
        var reason: String
        var headers: [(name: String, value: String)]
        var listBindings: Bool
        var result: Int = -1
    }

    /// One Contact of the REGISTER, its expires worked out.
    struct Binding {
        var uri: String
        var expires: Int
        var q: Int
        var instance: String
        var regID: Int
        var methods: UInt32?
    }

    func run(aorURI: String) -> Int {
        let message = context.message
        guard let aor = AOR.of(aorURI, useDomain: useDomain) else {
            return reply(Refusal(code: 400, reason: "Bad Request", headers: [("P-Registrar-Error", "Bad address of record")],
                                 listBindings: false), aor: nil)
        }
        let contacts: ContactValue?
        do throws(SIPParseError) { contacts = try message.contact } catch {
            return reply(Refusal(code: 400, reason: "Bad Request", headers: [("P-Registrar-Error", "Contact parse error")],
                                 listBindings: false), aor: aor)
        }
        let headerExpires = message.headerValue(.expires).flatMap { Int(Substring($0).trimmingSpaces) }
        // The decision and the bindings the reply lists are made under the AOR's lock; the
        // reply leaves after it is released (no send, and no transaction lock, inside it).
        let (refusal, result, headers) = store.withAORLocked(aor) { () -> (Refusal?, Int, [(name: String, value: String)]) in
            do {
                let result: Int
                switch contacts {
                case nil:
                    result = 4
                case .star:
                    guard headerExpires == 0 else {
                        throw Refusal(code: 400, reason: "Bad Request",
                                      headers: [("P-Registrar-Error", "* used in contact and expires is not zero")],
                                      listBindings: false)
                    }
                    guard store.remove(aor: aor) != nil else { throw Self.storeFailed }
                    result = 3
                case .addresses(let addresses):
                    let bindings = try addresses.reversed().map { try binding($0, headerExpires: headerExpires) }
                    result = try apply(bindings, aor: aor)
                }
                return (nil, result, replyHeaders(nil, aor: aor))
            } catch let refusal as Refusal {
                return (refusal, refusal.result, replyHeaders(refusal, aor: aor))
            } catch {
                let failed = Refusal(code: 500, reason: "Server Internal Error", headers: [], listBindings: false)
                return (failed, -1, [])
            }
        }
        return send(refusal, headers: headers, result: result)
    }

    private func binding(_ a: NameAddr, headerExpires: Int?) throws -> Binding {
        let params = a.params
        var expires = params.value("expires").flatMap { Int($0) } ?? headerExpires ?? settings.defaultExpires
        if expires < 0 { expires = settings.defaultExpires }
        if expires > 0 {
            if settings.maxExpires > 0, expires > settings.maxExpires { expires = settings.maxExpires }
            if expires < settings.minExpires {
                if settings.minExpiresMode == 1 {
                    throw Refusal(code: 423, reason: "Interval Too Brief",
                                  headers: [("Min-Expires", String(settings.minExpires)),
                                            ("P-Registrar-Error", "Interval too brief")], listBindings: false)
                }
                expires = settings.minExpires
            }
        }
        var q = settings.defaultQ
        if let text = params.value("q") {
            guard let parsed = Self.parseQ(text) else {
                throw Refusal(code: 400, reason: "Bad Request", headers: [("P-Registrar-Error", "Invalid q value")],
                              listBindings: false)
            }
            q = parsed
        }
        var instance = params.value("+sip.instance") ?? ""
        if instance.hasPrefix("\""), instance.hasSuffix("\""), instance.count >= 2 { instance = String(instance.dropFirst().dropLast()) }
        let methods = params.value("methods").map { RegistrarSettings.methods($0.trimmingCharacters("\"")) }
            ?? context.message.headerValues("Allow").reduce(UInt32?.none) { ($0 ?? 0) | RegistrarSettings.methods($1) }
        return Binding(uri: a.uriString, expires: expires, q: q, instance: instance,
                       regID: params.value("reg-id").flatMap { Int($0) } ?? 0, methods: methods)
    }

    /// "0.5" -> 500, "1" -> 1000; nil outside 0...1.
    static func parseQ(_ text: String) -> Int? {
        guard let d = Double(text), d >= 0, d <= 1 else { return nil }
        return Int((d * 1000).rounded())
    }

    /// Applies the bindings (in Kamailio's processing order) under the AOR's lock.
    private func apply(_ bindings: [Binding], aor: String) throws -> Int {
        let message = context.message
        let now = LocationTable.now
        guard let all = store.contacts(of: aor) else { throw Self.storeFailed }
        let existing = all.filter { !$0.isExpired(now: now) }
        let callID = message.callID
        let cseq = Int(message.cseq.number)
        // The same Call-ID with an older CSeq is refused. The same CSeq again within usrloc's
        // cseq_delay of the contact's last change is a retransmission: answered with the
        // bindings, the contact left as it is (Kamailio's behaviour); later it is refused.
        var retransmitted = Set<String>()
        for b in bindings {
            guard let old = existing.first(where: { $0.uri == b.uri }), old.callID == callID, cseq <= old.cseq else { continue }
            if cseq == old.cseq, now < old.lastModified + settings.cseqDelay {
                retransmitted.insert(b.uri)
                continue
            }
            throw Refusal(code: 400, reason: "Bad Request", headers: [("P-Registrar-Error", "Invalid CSeq number")],
                          listBindings: true)
        }
        if settings.maxContacts > 0 {
            var uris = Set(existing.map(\.uri))
            for b in bindings { if b.expires == 0 { uris.remove(b.uri) } else { uris.insert(b.uri) } }
            if flags & 0x04 != 0 { uris = Set(bindings.filter { $0.expires > 0 }.map(\.uri)) }
            if uris.count > settings.maxContacts {
                throw Refusal(code: 503, reason: "Service Unavailable",
                              headers: [("P-Registrar-Error", "Too many registered contacts")], listBindings: true,
                              result: -2)
            }
        }
        var inserted = false, updated = false, deleted = false
        for b in bindings where !retransmitted.contains(b.uri) {
            let old = existing.first { $0.uri == b.uri }
            if b.expires == 0 {
                if let old, store.remove(old) { deleted = true }
                continue
            }
            var c = LocationTable.Contact(aor: aor, uri: b.uri, expires: now + b.expires)
            c.q = b.q
            c.callID = callID
            c.cseq = cseq
            c.userAgent = message.headerValue(.userAgent) ?? ""
            c.socket = context.socket.name
            c.instance = b.instance
            c.regID = b.regID
            c.methods = b.methods
            c.lastModified = now
            if settings.usePath { c.path = message.headerValues("Path").joined(separator: ",") }
            if let avp = settings.receivedAVP, let v = context.edits.avps[avp]?.first { c.received = v.stringValue ?? "" }
            c.ruid = old?.ruid ?? context.process.registrar.nextRUID(now: now)
            if let f = old.map({ store.replace(c, old: $0) }) ?? store.insert(c) {
                if f != .database {
                    context.process.log.error("usrloc", "cannot save contact \(b.uri) of \(aor): \(f == .full ? "the location table is full (contacts_max)" : "no shared memory")")
                }
                throw Self.storeFailed
            }
            if old == nil { inserted = true } else { updated = true }
        }
        if flags & 0x04 != 0 {
            let keep = Set(bindings.map(\.uri))
            for c in existing where !keep.contains(c.uri) { if store.remove(c) { deleted = true } }
        }
        return inserted ? 1 : updated ? 2 : deleted ? 3 : 4
    }

    /// The location table could not be read or written (logged by the store): 500.
    static let storeFailed = Refusal(code: 500, reason: "Server Internal Error",
                                     headers: [("P-Registrar-Error", "Error while updating location table")], listBindings: false)

    /// Replies to a request refused before its AOR was known or locked.
    private func reply(_ refusal: Refusal, aor: String?) -> Int {
        send(refusal, headers: replyHeaders(refusal, aor: aor), result: refusal.result)
    }

    /// The headers of the reply: the AOR's live bindings (for a 200 and the refusals that
    /// list them), the Path when path_mode echoes it, then the refusal's own headers.
    private func replyHeaders(_ refusal: Refusal?, aor: String?) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        if let aor, refusal == nil || refusal!.listBindings {
            let list = Self.contactList(store.contacts(of: aor) ?? [], now: LocationTable.now)
            if !list.isEmpty { headers.append(("Contact", list)) }
            let path = context.message.headerValues("Path")
            let supported = context.message.headerValues("Supported").contains { $0.lowercased() == "path" }
            if refusal == nil, settings.usePath, settings.pathMode != 0, supported, !path.isEmpty {
                headers.append(("Path", path.joined(separator: ",")))
            }
        }
        return headers + (refusal?.headers ?? [])
    }

    /// Sends the 200 (refusal nil) or the refusal, unless flag 0x02 says not to reply.
    private func send(_ refusal: Refusal?, headers: [(name: String, value: String)], result: Int) -> Int {
        guard flags & 0x02 == 0 else { return result }
        let code = refusal?.code ?? 200
        // Kamailio's registrar replies through sl, which answers statefully when the
        // request has a transaction (t_newtran before save).
        if let tx = context.transaction {
            context.sendStatefulReply(tx, code, refusal?.reason ?? "OK", extraHeaders: headers)
        } else {
            context.sendReply(code, refusal?.reason ?? "OK", extraHeaders: headers)
        }
        return result
    }

    /// The Contact value of a 200 OK: each live binding with its q and seconds left.
    static func contactList(_ contacts: [LocationTable.Contact], now: Int) -> String {
        contacts.filter { !$0.isExpired(now: now) }.map { c in
            var s = "<\(c.uri)>"
            if c.q >= 0 { s += ";q=\(formatQ(c.q))" }
            s += ";expires=\(c.remaining(now: now))"
            if !c.instance.isEmpty { s += ";+sip.instance=\"\(c.instance)\"" }
            if c.regID != 0 { s += ";reg-id=\(c.regID)" }
            return s
        }.joined(separator: ", ")
    }

    /// 500 -> "0.5", 1000 -> "1", 125 -> "0.125".
    static func formatQ(_ q: Int) -> String {
        if q >= 1000 { return "1" }
        var frac = String(q)
        while frac.count < 3 { frac = "0" + frac }
        while frac.hasSuffix("0") { frac.removeLast() }
        return frac.isEmpty ? "0" : "0.\(frac)"
    }
}

extension String {
    func trimmingCharacters(_ c: Character) -> String {
        String(self.drop { $0 == c }.reversed().drop { $0 == c }.reversed())
    }
}
