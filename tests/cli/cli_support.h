// Helpers for end-to-end tests: run the real breakwater binary (or another tool) and capture
// its exit status, stdout and stderr; locate the shared public captures.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace bw::testing {

struct RunResult {
  int status = -1;  // exit code, or -1 when killed by a signal
  std::string out;
  std::string err;
};

inline std::string shellQuote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `argv` through /bin/sh with a 120 s limit; stdout and stderr are captured separately.
inline RunResult runCommand(const std::vector<std::string>& argv) {
  static int counter = 0;
  std::string base = (std::filesystem::temp_directory_path() /
                      ("bw-cli-" + std::to_string(getpid()) + "-" + std::to_string(counter++)))
                         .string();
  std::string cmd = "timeout 120";
  for (const auto& a : argv) cmd += " " + shellQuote(a);
  cmd += " >" + shellQuote(base + ".out") + " 2>" + shellQuote(base + ".err") + " </dev/null";
  int raw = std::system(cmd.c_str());
  RunResult r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = readFile(base + ".out");
  r.err = readFile(base + ".err");
  std::filesystem::remove(base + ".out");
  std::filesystem::remove(base + ".err");
  return r;
}

inline RunResult runBreakwater(std::vector<std::string> args) {
  args.insert(args.begin(), BW_BINARY);
  return runCommand(args);
}

inline std::string sharedCapture(const std::string& relative) {
  return std::string(BW_SHARED_DIR) + "/captures/" + relative;
}

// The text's lines, without their newlines.
inline std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

inline bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

inline bool haveTool(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

// A fresh temporary directory, removed when the object goes away.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "bw-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace bw::testing
