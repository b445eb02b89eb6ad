import ArgumentParser

@main
struct HeapSnapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heapsnap",
        abstract: "tracemalloc for native Linux processes: snapshot live heap memory, group it by file:line, diff it.",
        subcommands: []
    )
}
