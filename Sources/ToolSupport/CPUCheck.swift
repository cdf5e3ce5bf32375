import Foundation
import Kernels

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
    /// arguments and runs the chosen (sub)command.
    public static func mainCheckingCPU(_ tool: String) {
        requireSupportedCPU(tool)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
