// How subcommands plug into the breakwater binary: each registers its options on the CLI11
// app and, when chosen on the command line, stores the function that runs it in `run`.
// Commands return the process exit code; only main() exits.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace bw::cli {

using CommandRun = std::function<int()>;

// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFound =
    1;  // analyze: attacks found (with --fail-on-attack); audit: exposure
inline constexpr int kExitUsage = 2;  // bad command line or configuration
inline constexpr int kExitInput = 3;  // unreadable or unsupported input

void registerAnalyzeCommand(CLI::App& app, CommandRun& run);
void registerSynthCommand(CLI::App& app, CommandRun& run);
void registerAttacksCommand(CLI::App& app, CommandRun& run);
void registerAuditCommand(CLI::App& app, CommandRun& run);
void registerCheckConfigCommand(CLI::App& app, CommandRun& run);
void registerRunCommand(CLI::App& app, CommandRun& run);

}  // namespace bw::cli
