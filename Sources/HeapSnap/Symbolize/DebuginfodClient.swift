// Debug info from debuginfod, through libdw's own client: libdwfl's standard find_debuginfo asks the
// servers of DEBUGINFOD_URLS by build-id when the local search fails (libdw dlopens libdebuginfod.so.1,
// Debian's libdebuginfod1). This file records what the servers answered per module, and stops the
// other modules' queries once one server failed, so that a server that never answers costs one
// DEBUGINFOD_TIMEOUT, not one per module. Why libdw's client and not our own: Docs/DESIGN.md.
import CLibDW
import Foundation

extension Symbolizer {
    /// The debuginfod servers libdw's client asks (its own environment variable), nil when unset or empty.
    public static var debuginfodURLs: String? {
        guard let value = getenv("DEBUGINFOD_URLS"), value.pointee != 0 else { return nil }
        return String(cString: value)
    }
}

/// What libdwfl's debug-info search found for one module. Its standard search looks locally, then asks
/// debuginfod, whose client returns a negative errno when that fails: -ENOSYS without DEBUGINFOD_URLS,
/// -ENOENT when no server has the file, a connection error otherwise; the local search alone fails
/// with -1. A file found locally has a name; one from the debuginfod cache comes without.
final class DebugInfoSearch {
    let gate: DebuginfodGate
    private(set) var debuginfodOutcome: String?
    /// libdwfl asks again for the symbol table after the DWARF search failed; the answer is the same.
    var failedBefore = false

    init(gate: DebuginfodGate) { self.gate = gate }

    func record(result: Int32, localFile: UnsafeMutablePointer<CChar>?) {
        guard Symbolizer.debuginfodURLs != nil else { return }
        if result >= 0 {
            if localFile == nil { debuginfodOutcome = "found" }
        } else if result == -ENOENT {
            // A query the gate cut short also ends as -ENOENT: say why it was cut.
            debuginfodOutcome = gate.failure ?? "not found"
        } else if result < -1 && result != -ENOSYS {
            let reason = String(cString: strerror(-result))
            debuginfodOutcome = reason
            gate.fail(reason)
        }
    }
}

/// libdwfl's standard search, recording its outcome in the module's `DebugInfoSearch` (the module's
/// user data, set by ModuleResolver).
let findDebugInfo: @convention(c) (
    OpaquePointer?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafePointer<CChar>?, Dwarf_Addr,
    UnsafePointer<CChar>?, UnsafePointer<CChar>?, GElf_Word, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 = { module, userData, name, base, file, debugLink, crc, debugFile in
    if let raw = userData?.pointee {
        let search = Unmanaged<DebugInfoSearch>.fromOpaque(raw).takeUnretainedValue()
        if search.failedBefore { return -1 }
        // Once a server failed, the other modules look locally by build-id first (no wait at all).
        if search.gate.failure != nil {
            let local = dwfl_build_id_find_debuginfo(module, userData, name, base, file, debugLink, crc, debugFile)
            if local >= 0 { return local }
        }
        let result = dwfl_standard_find_debuginfo(module, userData, name, base, file, debugLink, crc, debugFile)
        search.record(result: result, localFile: debugFile?.pointee)
        search.failedBefore = result < 0
        return result
    }
    return dwfl_standard_find_debuginfo(module, userData, name, base, file, debugLink, crc, debugFile)
}

/// Shared by the Dwfls of one symbolization: the first server failure, and the progress callback on
/// each Dwfl's debuginfod client that ends its queries once there is one (the client calls it about
/// once a second while it waits).
final class DebuginfodGate: @unchecked Sendable {
    private let lock = NSLock()
    private var firstFailure: String?

    var failure: String? {
        lock.lock()
        defer { lock.unlock() }
        return firstFailure
    }

    func fail(_ reason: String) {
        lock.lock()
        defer { lock.unlock() }
        if firstFailure == nil { firstFailure = reason }
    }

    /// Puts the gate on `dwfl`'s debuginfod client, when DEBUGINFOD_URLS is set and libdw has one.
    func watch(_ dwfl: OpaquePointer) {
        // The client first: libdw loads libdebuginfod.so.1 when it makes one.
        guard Symbolizer.debuginfodURLs != nil, let client = dwfl_get_debuginfod_client(dwfl),
              let api = DebuginfodAPI.shared else { return }
        api.setUserData(client, Unmanaged.passUnretained(self).toOpaque())
        api.setProgress(client, debuginfodProgress)
    }
}

/// Non-zero ends the client's query.
private let debuginfodProgress: @convention(c) (OpaquePointer?, Int, Int) -> Int32 = { client, _, _ in
    guard let api = DebuginfodAPI.shared, let raw = api.userData(client) else { return 0 }
    return Unmanaged<DebuginfodGate>.fromOpaque(raw).takeUnretainedValue().failure == nil ? 0 : 1
}

/// The three libdebuginfod calls the gate needs, from the copy libdw has already loaded (heapsnap does
/// not link libdebuginfod; without it there are no queries to stop).
private struct DebuginfodAPI {
    typealias Progress = @convention(c) (OpaquePointer?, Int, Int) -> Int32
    let setProgress: @convention(c) (OpaquePointer?, Progress?) -> Void
    let setUserData: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Void
    let userData: @convention(c) (OpaquePointer?) -> UnsafeMutableRawPointer?

    static let shared: DebuginfodAPI? = {
        guard let library = dlopen("libdebuginfod.so.1", RTLD_LAZY | RTLD_NOLOAD),
              let progress = dlsym(library, "debuginfod_set_progressfn"),
              let setData = dlsym(library, "debuginfod_set_user_data"),
              let getData = dlsym(library, "debuginfod_get_user_data") else { return nil }
        return DebuginfodAPI(
            setProgress: unsafeBitCast(progress, to: (@convention(c) (OpaquePointer?, Progress?) -> Void).self),
            setUserData: unsafeBitCast(setData, to: (@convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Void).self),
            userData: unsafeBitCast(getData, to: (@convention(c) (OpaquePointer?) -> UnsafeMutableRawPointer?).self))
    }()
}
