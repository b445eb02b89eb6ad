// The report footer for sites that are bare addresses because their module has no names: which
// modules, and how to get names for them (a Debian debug-symbols package, or debuginfod). Computed only
// when a shown site is such an address, so the common report never asks dpkg anything.
import Foundation

public enum NamesAdvice {
    /// Debian's public debuginfod server (https://wiki.debian.org/Debuginfod).
    public static let debianServer = "https://debuginfod.debian.net"

    /// The modules, in order of first appearance, whose shown sites are addresses because the module
    /// has no symbols (or only exported ones) and no debug info. Modules that could not be read are left
    /// out: `info` says their problem.
    public static func namelessModules(sites: [Frame], snapshots: [SnapshotInfo]) -> [ModuleInfo] {
        var modules: [String: ModuleInfo] = [:]
        for snapshot in snapshots {
            for module in snapshot.modules where modules[module.path] == nil { modules[module.path] = module }
        }
        var seen = Set<String>()
        var result: [ModuleInfo] = []
        for site in sites where site.function == nil && site.file == nil && !site.isPython && !site.module.isEmpty {
            guard !seen.contains(site.module), let module = modules[site.module], module.problem == nil,
                  module.names == .nothing || module.names == .exportedSymbols else { continue }
            seen.insert(site.module)
            result.append(module)
        }
        return result
    }

    /// One line, or nil when every shown site has a name (or no module can be helped).
    /// `packages` finds the Debian package of each path (dpkg by default).
    public static func line(
        for modules: [ModuleInfo], debuginfodURLs: String? = Symbolizer.debuginfodURLs,
        packages: ([String]) -> [String: String] = DebianPackages.owners
    ) -> String? {
        guard !modules.isEmpty else { return nil }
        let names = modules.map { ($0.path as NSString).lastPathComponent }
        let listed = names.prefix(3).joined(separator: ", ") + (names.count > 3 ? " and \(names.count - 3) more" : "")
        var text = "note: sites in \(listed) are bare addresses (stripped: no symbols or debug info for them); for names"
        let owners = packages(modules.map(\.path))
        var debugPackages: [String] = []
        for module in modules {
            if let package = owners[module.path].map(DebianPackages.debugPackage), !debugPackages.contains(package) {
                debugPackages.append(package)
            }
        }
        if !debugPackages.isEmpty {
            text += " install \(debugPackages.joined(separator: " ")) (Debian's debug archive) or"
        }
        if let urls = debuginfodURLs {
            let answers = Set(modules.compactMap(\.debuginfod)).sorted()
            text += " check DEBUGINFOD_URLS=\(urls)"
            if !answers.isEmpty { text += " (debuginfod: \(answers.joined(separator: "; ")))" }
        } else {
            text += " set DEBUGINFOD_URLS=\(debianServer)"
        }
        return text
    }
}

/// Which Debian package installed a file, and the package that carries its debug symbols.
public enum DebianPackages {
    /// Paths → binary package name (without ":arch"), for the paths dpkg knows. One dpkg-query for all,
    /// with a deadline; nothing on a system without dpkg.
    public static func owners(of paths: [String]) -> [String: String] {
        let tool = "/usr/bin/dpkg-query"
        guard !paths.isEmpty, access(tool, X_OK) == 0 else { return [:] }
        // dpkg knows a file by the path its package shipped, which merged /usr and symlinks may hide.
        var asked: [String: String] = [:]
        for path in paths {
            var candidates = [path]
            if let resolved = realpath(path, nil) {
                candidates.append(String(cString: resolved))
                free(resolved)
            }
            for candidate in candidates {
                asked[candidate] = path
                if candidate.hasPrefix("/usr/") { asked[String(candidate.dropFirst(4))] = path }
                else if candidate.hasPrefix("/lib") || candidate.hasPrefix("/bin") || candidate.hasPrefix("/sbin") {
                    asked["/usr" + candidate] = path
                }
            }
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["-S"] + asked.keys.sorted()
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return [:] }
        // Read on another thread so that a dpkg that never finishes costs the deadline, not a hang.
        final class Box: @unchecked Sendable { var data = Data() }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            box.data = output.fileHandleForReading.readDataToEndOfFile()
            done.signal()
        }
        if done.wait(timeout: .now() + .seconds(5)) == .timedOut {
            process.terminate()
            return [:]
        }
        process.waitUntilExit()
        let data = box.data
        var result: [String: String] = [:]
        // "pkg[:arch][, pkg2]: /path" per line; diversions ("diversion by …") are skipped.
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            guard let colon = line.range(of: ": "), !line.hasPrefix("diversion") else { continue }
            let file = String(line[colon.upperBound...])
            guard let original = asked[file], result[original] == nil else { continue }
            let first = line[..<colon.lowerBound].split(separator: ",").first ?? ""
            let package = first.split(separator: ":").first.map { String($0).trimmingCharacters(in: .whitespaces) } ?? ""
            if !package.isEmpty { result[original] = package }
        }
        return result
    }

    /// Debian's automatic debug-symbols package of a binary package; glibc's is libc6-dbg.
    public static func debugPackage(of package: String) -> String {
        package == "libc6" ? "libc6-dbg" : package + "-dbgsym"
    }
}
