import Foundation
import RepLKImaging
import RepLKKernels

/// Refuses to run, with a message, when this CPU runs neither kernel build (AVX-512 or AVX2 + FMA).
/// Every tool calls this before any engine code runs, so an unsupported CPU gets an error instead of
/// SIGILL.
public func requireSupportedCPU(_ tool: String) {
    if kernelVariant == nil {
        printError("\(tool): error: the kernels need AVX2 and FMA (x86-64-v3) or AVX-512 (x86-64-v4), which this CPU lacks")
        exit(2)
    }
}

import ArgumentParser

extension ParsableCommand {
    /// The tools' entry point: checks the CPU before any engine code runs, then parses the
    /// arguments and runs the chosen (sub)command. A bad command line (an unknown option, a
    /// number out of range) is one line, `tool: error: …`, with the usage-error exit code (64);
    /// help and version requests print as usual.
    public static func mainCheckingCPU(_ tool: String) {
        requireSupportedCPU(tool)
        // A REPLK_MAX_IMAGE_PIXELS that is not a positive number is refused once, here, rather
        // than at every image the decoders would refuse with it.
        do { _ = try ImageLimits.fromEnvironment() } catch {
            printError("\(tool): error: \(error)")
            Foundation.exit(2)
        }
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exitWithUsageError(tool, error)
        }
        do {
            try command.run()
        } catch let error as ToolError {
            exitWithError(tool, error)
        } catch {
            exitWithUsageError(tool, error)
        }
    }

    private static func exitWithUsageError(_ tool: String, _ error: Error) -> Never {
        let code = exitCode(for: error)
        let text = message(for: error)
        // Help, version, and errors that carry their own exit code and no message.
        if code == .success || text.isEmpty { exit(withError: error) }
        var line = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        // A value that does not parse: the option's help says what is expected.
        if let help = fullMessage(for: error, columns: 10_000).split(separator: "\n").first(where: { $0.hasPrefix("Help:") }) {
            line += " (" + help.dropFirst("Help:".count).split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") + ")"
        }
        printError("\(tool): error: \(line)")
        Foundation.exit(code.rawValue)
    }
}
