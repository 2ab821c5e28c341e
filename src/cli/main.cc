// breakwater: argument parsing and exit codes only; every subcommand lives in its own file.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/command.h"

int main(int argc, char** argv) {
  CLI::App app{
      "Breakwater: detect, attribute and mitigate UDP reflection/amplification DDoS.\n"
      "Run 'breakwater COMMAND --help' for the options of each command.",
      "breakwater"};
  app.set_version_flag("--version", "breakwater 0.1.0");
  app.require_subcommand(1);
  bw::cli::CommandRun run;
  bw::cli::registerAnalyzeCommand(app, run);
  bw::cli::registerSynthCommand(app, run);
  bw::cli::registerAttacksCommand(app, run);
  bw::cli::registerAuditCommand(app, run);
  bw::cli::registerCheckConfigCommand(app, run);
  bw::cli::registerRunCommand(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : bw::cli::kExitUsage;
  }
  if (!run) {
    std::fputs(app.help().c_str(), stderr);
    return bw::cli::kExitUsage;
  }
  return run();
}
