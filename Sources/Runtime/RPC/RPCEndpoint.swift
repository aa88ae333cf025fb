import CShared
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// Where a management interface listens, as ctl's `binrpc` and jsonrpcs's `dgram_socket`
/// parameters write it: `unix:PATH` (also `unixs:`; a bare path), `unixd:PATH` (unix
/// datagram), `udp:HOST:PORT` (also a bare `HOST:PORT`), `tcp:HOST:PORT`. A relative path
/// is under the run directory.
public struct RPCAddress: Equatable, Sendable, CustomStringConvertible {
    public enum Transport: String, Sendable {
        case unixStream = "unix", unixDatagram = "unixd", udp, tcp
    }

    public var transport: Transport
    /// The socket file for unix transports; the numeric host for UDP and TCP.
    public var host: String
    public var port: Int

    public var description: String {
        switch transport {
        case .unixStream, .unixDatagram: return "\(transport.rawValue):\(host)"
        case .udp, .tcp: return "\(transport.rawValue):\(host.contains(":") ? "[\(host)]" : host):\(port)"
        }
    }

    public var isStream: Bool { transport == .unixStream || transport == .tcp }

    /// Why an address was refused, in words for the config's author.
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Parses one address; `datagramDefault` says what a bare path is (ctl: a unix stream
    /// socket; jsonrpcs's dgram_socket: a unix datagram one).
    public static func parse(_ text: String, runDirectory: String, datagramDefault: Bool = false) -> Result<RPCAddress, RPCAddress.ParseError> {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        var transport: Transport?
        for (prefix, t) in [("unixs:", Transport.unixStream), ("unixd:", .unixDatagram), ("unix:", .unixStream),
                            ("udp:", .udp), ("tcp:", .tcp)] where rest.lowercased().hasPrefix(prefix) {
            transport = t
            rest = rest.dropFirst(prefix.count)
            break
        }
        guard !rest.isEmpty else { return .failure(ParseError(description: "'\(text)': no address")) }
        let looksLikePath = rest.hasPrefix("/") || rest.hasPrefix(".") || !rest.contains(":")
        let t = transport ?? (looksLikePath ? (datagramDefault ? .unixDatagram : .unixStream) : .udp)
        switch t {
        case .unixStream, .unixDatagram:
            let path = rest.hasPrefix("/") ? String(rest) : runDirectory + "/" + rest
            guard path.utf8.count < 108 else { return .failure(ParseError(description: "'\(text)': a unix socket path must be shorter than 108 bytes")) }
            return .success(RPCAddress(transport: t, host: path, port: 0))
        case .udp, .tcp:
            guard let (host, port) = SocketAddress.splitHostPort(rest), let portText = port,
                  let p = Int(portText), (1...65535).contains(p) else {
                return .failure(ParseError(description: "'\(text)': expected \(t.rawValue):HOST:PORT"))
            }
            let name = String(host)
            let numeric = name == "localhost" ? "127.0.0.1" : name
            guard SocketAddress(host: numeric, port: p) != nil else {
                return .failure(ParseError(description: "'\(text)': \(name) is not an IP address (or localhost)"))
            }
            return .success(RPCAddress(transport: t, host: numeric, port: p))
        }
    }
}

/// A bound management socket or FIFO, made by the master before it forks (so that a
/// taken address stops the start), served by one RPC process.
public struct RPCEndpoint: Sendable {
    public enum Kind: Sendable {
        /// A listening stream socket: each accepted connection carries requests.
        case stream
        /// Each datagram is a request; the reply goes back to its sender.
        case datagram
        /// jsonrpcs's FIFO: documents in, replies to the FIFO each names.
        case fifo
    }

    public enum Encoding: Sendable {
        case binrpc
        case jsonrpc
    }

    public let name: String
    public let kind: Kind
    public let encoding: Encoding
    public let descriptor: Int32
    /// A file the master removes when it stops (unix sockets, FIFOs).
    public let file: String?

    /// Binds `address` with `mode` (unix socket files).
    public static func bind(_ address: RPCAddress, encoding: Encoding, mode: UInt32) throws(SystemCallError) -> RPCEndpoint {
        let fd: Int32
        switch address.transport {
        case .unixStream, .unixDatagram:
            fd = cs_unix_bind(address.host, address.isStream ? 1 : 0, mode)
        case .udp, .tcp:
            fd = cs_inet_bind(address.host, Int32(address.port), address.isStream ? 1 : 0)
        }
        guard fd >= 0 else { throw SystemCallError("bind \(address)", errno: errno) }
        let isFile = address.transport == .unixStream || address.transport == .unixDatagram
        return RPCEndpoint(name: address.description, kind: address.isStream ? .stream : .datagram,
                           encoding: encoding, descriptor: fd, file: isFile ? address.host : nil)
    }

    /// Creates jsonrpcs's FIFO at `path`.
    public static func fifo(_ path: String, mode: UInt32) throws(SystemCallError) -> RPCEndpoint {
        let fd = cs_fifo_open_server(path, mode)
        guard fd >= 0 else { throw SystemCallError("mkfifo \(path)", errno: errno) }
        return RPCEndpoint(name: "fifo:\(path)", kind: .fifo, encoding: .jsonrpc, descriptor: fd, file: path)
    }
}
