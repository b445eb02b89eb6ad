// Whether LD_PRELOAD can bring libheapsnap.so into a program at all: a statically linked ELF file has
// no dynamic loader to do it, and the loader ignores LD_PRELOAD for set-user-ID and set-group-ID
// programs. Asked only after a run wrote no snapshot, to say why.
import Foundation

enum ProgramLinkage: Equatable {
    case dynamic
    case statically(path: String)
    case setID(path: String)

    /// The program `name` as posix_spawnp finds it (PATH unless it has a slash); for a `#!` script,
    /// its interpreter. Anything unreadable or not ELF counts as dynamic: nothing to say about it.
    static func of(_ name: String, environment: [String: String]) -> ProgramLinkage {
        guard let path = resolve(name, environment: environment) else { return .dynamic }
        return inspect(path, scriptDepth: 0)
    }

    private static func inspect(_ path: String, scriptDepth: Int) -> ProgramLinkage {
        var status = stat()
        guard stat(path, &status) == 0 else { return .dynamic }
        // Secure-execution mode (AT_SECURE) only when the bit changes the user or group the program runs as.
        if (status.st_mode & S_ISUID != 0 && status.st_uid != getuid()) || (status.st_mode & S_ISGID != 0 && status.st_gid != getgid()) {
            return .setID(path: path)
        }
        guard let handle = FileHandle(forReadingAtPath: path) else { return .dynamic }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 256)) ?? Data())
        if head.starts(with: Array("#!".utf8)), scriptDepth == 0 {
            let line = head.dropFirst(2).prefix { $0 != UInt8(ascii: "\n") }
            let interpreter = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespaces)
                .split(separator: " ").first.map(String.init) ?? ""
            return interpreter.hasPrefix("/") ? inspect(interpreter, scriptDepth: 1) : .dynamic
        }
        return hasInterpreter(handle: handle, head: head).map { $0 ? .dynamic : .statically(path: path) } ?? .dynamic
    }

    /// Whether the ELF file has a PT_INTERP program header (the dynamic loader); nil if it is not ELF.
    private static func hasInterpreter(handle: FileHandle, head: [UInt8]) -> Bool? {
        guard head.count >= 64, head.starts(with: [0x7f, 0x45, 0x4c, 0x46]) else { return nil }
        let is64 = head[4] == 2, littleEndian = head[5] == 1
        guard littleEndian else { return nil }
        func value(_ bytes: [UInt8], _ offset: Int, _ size: Int) -> UInt64 {
            (0..<size).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
        }
        let tableOffset = is64 ? value(head, 32, 8) : value(head, 28, 4)
        let entrySize = Int(is64 ? value(head, 54, 2) : value(head, 42, 2))
        let entries = Int(is64 ? value(head, 56, 2) : value(head, 44, 2))
        guard entrySize >= 4, entries > 0, entries < 4096 else { return nil }
        guard (try? handle.seek(toOffset: tableOffset)) != nil,
              let table = try? handle.read(upToCount: entrySize * entries), table.count == entrySize * entries
        else { return nil }
        let bytes = [UInt8](table)
        let interpreterType: UInt64 = 3  // PT_INTERP
        return (0..<entries).contains { value(bytes, $0 * entrySize, 4) == interpreterType }
    }

    static func resolve(_ name: String, environment: [String: String]) -> String? {
        if name.contains("/") { return name }
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in path.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (folder.isEmpty ? "." : String(folder)) + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
